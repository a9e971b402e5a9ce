"""bot.core.feedback and the conversation's feedback events: what may be rated, once."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.conversation import Conversation, State
from bot.core.events import BOT_REPLY, CLARIFY, CLOSED, FEEDBACK, SURVEY, StoredEvent
from bot.core.feedback import check_survey, rated_answer, ratings
from bot.errors import ProtocolError


def event(seq: int, kind: str, client_id: str | None = None, **data: Any) -> StoredEvent:
    return StoredEvent("c_1", seq, kind, data, 1.0 * seq, client_id)


GREETING = event(1, BOT_REPLY, text="Hi!", source="system")
ANSWER = event(3, BOT_REPLY, text="Returns are free.", source="template", intent="returns")


def test_an_answer_of_the_conversation_is_rated_once() -> None:
    assert rated_answer([GREETING, ANSWER], "e3") is ANSWER
    rated = [GREETING, ANSWER, event(4, FEEDBACK, "f1", reply="e3", value="up", comment=None)]
    with pytest.raises(ProtocolError) as again:
        rated_answer(rated, "e3")
    assert again.value.code == "already_rated"
    assert ratings(rated) == {"e3": "up"}


@pytest.mark.parametrize("reply", ["e1", "e9", "m1"])
def test_the_greeting_or_an_unknown_id_cannot_be_rated(reply: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        rated_answer([GREETING, event(2, "customer_message", "m1", text="hi"), ANSWER], reply)
    assert refused.value.code == "bad_feedback"


def test_a_clarification_can_be_rated() -> None:
    clarify = event(2, CLARIFY, text="Which one?")
    assert rated_answer([clarify], "e2") is clarify


def test_the_survey_comes_once_after_the_end() -> None:
    with pytest.raises(ProtocolError) as early:
        check_survey([GREETING, ANSWER])
    assert "end chat" in str(early.value)
    closed = [GREETING, ANSWER, event(4, CLOSED, by="customer")]
    check_survey(closed)
    with pytest.raises(ProtocolError):
        check_survey([*closed, event(5, SURVEY, "s1", score=4, comment=None)])


def test_the_customer_ends_the_chat_from_any_state_once() -> None:
    conversation = Conversation("c_1")
    ended = conversation.end_by_customer()

    assert [e.kind for e in ended] == [CLOSED, "state_changed"]
    assert ended[0].data == {"by": "customer"}
    assert conversation.state is State.CLOSED
    assert conversation.end_by_customer() == []
    survey = conversation.answer_survey(5, "quick", client_id="s1")
    assert survey[0].kind == SURVEY and survey[0].data == {"score": 5, "comment": "quick"}
