"""The demo's template variations: the one closest in meaning to the customer's message is sent."""

from __future__ import annotations

import pytest

from bot.core.conversation import Conversation
from bot.service.brain import Brain

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("message", "intent", "about"),
    [
        ("how do I reset my password", "reset_password", "Forgot password?"),
        ("my password reset link expired", "reset_password", "link has expired"),
        ("can I change my delivery address", "change_address", "Edit delivery address"),
    ],
)
def test_the_closest_variation_is_sent_whatever_the_turn(demo_brain: Brain, message: str, intent: str, about: str) -> None:
    (understanding,) = demo_brain.understand([message])
    texts = set()
    for turn in range(3):  # the rotation does not take the customer away from what they asked
        conversation = Conversation(f"c{turn}")
        conversation.bot_turns = turn
        (reply, *_) = conversation.answer(
            message, client_id="m1", understanding=understanding, policy=demo_brain.policy, composer=demo_brain.composer
        )
        assert reply.data["intent"] == intent
        texts.add(reply.data["text"])

    (text,) = texts
    assert about in text
