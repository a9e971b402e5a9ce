"""Expected response names resolved against the KB under test.

A Rasa story names the responses Rasa sends; `kb import-rasa` keeps their texts but files them
under Deskmate's names: ``utter_goodbye`` answering intent ``deny`` becomes the response ``deny``
(the same texts as ``goodbye``), and a retrieval intent's ``utter_faq`` is the responses
``faq_<name>`` of its parts. A reply from any of those is what the story expected.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from bot.dialogue_tests.model import ConversationTest, ExpectedReply
from kb.model import KnowledgeBase


def resolve_names(tests: Sequence[ConversationTest], kb: KnowledgeBase) -> list[ConversationTest]:
    """``tests`` with each expected response widened to the KB's responses that say the same."""
    texts = {name: tuple(t.text for t in variations) for name, variations in kb.templates.items()}
    intents = set(kb.intent_names)

    def widen(names: Iterable[str]) -> frozenset[str]:
        found = set(names)
        for name in names:
            if name in texts:
                found |= {other for other, said in texts.items() if said == texts[name]}
            elif name not in intents:  # a retrieval intent: faq stands for faq_opening_hours, ...
                found |= {other for other in texts if other.startswith(f"{name}_") and other in intents}
        return frozenset(found)

    def expected(reply: ExpectedReply) -> ExpectedReply:
        return replace(reply, responses=widen(reply.responses)) if reply.responses else reply

    return [
        replace(
            test,
            steps=tuple(
                replace(step, expect=replace(step.expect, replies=tuple(expected(r) for r in step.expect.replies)))
                for step in test.steps
            ),
        )
        for test in tests
    ]
