"""The reply policy: from what the models said about a message to what the bot does.

Pure and deterministic: ``Policy.decide`` takes the classifier's ranking, the retrieved past
replies and the conversation's recent history, and returns a :class:`Decision`.

Order of the rules (the first that applies wins):

1. **explicit request** - the message asks for a person (an intent marked ``handoff: true``
   ranks first with at least ``handoff_below`` confidence, or the text matches
   ``explicit_handoff_pattern``) -> hand off.
2. **chosen option** - the customer clicked a clarification button -> answer that intent.
3. **confident intent** - top probability >= ``answer_threshold`` and at least ``clarify_margin``
   above the second -> answer with the intent's template.
4. **good retrieval** - the best past reply scores >= ``retrieval_threshold`` -> send it.
5. **ambiguous** - the top two intents together hold >= ``clarify_mass`` and the top is within
   ``clarify_margin`` of the second -> ask which one; if the previous bot turn already was a
   clarification -> hand off (``ambiguous``).
6. **low confidence** - top probability < ``handoff_below`` -> hand off (``low_confidence``).
7. otherwise a failure: ask to rephrase; the ``max_failures``-th failure in a row hands off
   (``repeated_failure``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from retrieval.retriever import RetrievedReply
from training.prediction import IntentPrediction

DEFAULT_EXPLICIT_HANDOFF = (
    r"\b(real|live|actual)\s+(person|human|agent)\b|\b(talk|speak|chat)\s+(to|with)\s+(a\s+|an\s+|some)?"
    r"(person|human|agent|someone|somebody|representative|operator)\b|\bhuman\s+agent\b"
)


class Action(str, Enum):
    ANSWER = "answer"
    RETRIEVED = "retrieved"
    CLARIFY = "clarify"
    FALLBACK = "fallback"
    HANDOFF = "handoff"


class HandoffReason(str, Enum):
    LOW_CONFIDENCE = "low_confidence"
    EXPLICIT_REQUEST = "explicit_request"
    REPEATED_FAILURE = "repeated_failure"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class PolicyConfig:
    answer_threshold: float = 0.6
    clarify_margin: float = 0.2
    clarify_mass: float = 0.6
    handoff_below: float = 0.25
    retrieval_threshold: float = 0.8
    max_failures: int = 2
    explicit_handoff_pattern: str = DEFAULT_EXPLICIT_HANDOFF


@dataclass(frozen=True)
class Decision:
    action: Action
    rule: str
    intent: str | None = None
    confidence: float = 0.0
    options: tuple[str, ...] = ()
    reason: HandoffReason | None = None
    retrieved: RetrievedReply | None = None
    notes: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TurnContext:
    """What the policy needs to know about the conversation so far."""

    failures_in_a_row: int = 0
    last_was_clarify: bool = False
    offered_options: tuple[str, ...] = ()


class Policy:
    def __init__(self, config: PolicyConfig | None = None, *, handoff_intents: Sequence[str] = ()) -> None:
        self.config = config or PolicyConfig()
        self.handoff_intents = frozenset(handoff_intents)
        self._explicit = re.compile(self.config.explicit_handoff_pattern, re.IGNORECASE)

    def decide(
        self,
        text: str,
        prediction: IntentPrediction,
        retrieved: Sequence[RetrievedReply],
        context: TurnContext,
        *,
        chosen_intent: str | None = None,
    ) -> Decision:
        c = self.config
        top, second = prediction.top, prediction.second
        second_p = second.probability if second else 0.0
        notes = {"top": top.probability, "second": second_p}
        best = retrieved[0] if retrieved else None
        if best is not None:
            notes["retrieval"] = best.score

        if (top.intent in self.handoff_intents and top.probability >= c.handoff_below) or self._explicit.search(text):
            return Decision(Action.HANDOFF, "explicit_request", intent=top.intent, confidence=top.probability,
                            reason=HandoffReason.EXPLICIT_REQUEST, notes=notes)
        if chosen_intent is not None and chosen_intent in context.offered_options:
            if chosen_intent in self.handoff_intents:
                return Decision(Action.HANDOFF, "explicit_request", intent=chosen_intent, confidence=1.0,
                                reason=HandoffReason.EXPLICIT_REQUEST, notes=notes)
            return Decision(Action.ANSWER, "chosen_option", intent=chosen_intent, confidence=1.0, notes=notes)
        if top.probability >= c.answer_threshold and top.probability - second_p >= c.clarify_margin:
            return Decision(Action.ANSWER, "confident_intent", intent=top.intent, confidence=top.probability, notes=notes)
        if best is not None and best.score >= c.retrieval_threshold:
            return Decision(Action.RETRIEVED, "good_retrieval", intent=top.intent, confidence=top.probability,
                            retrieved=best, notes=notes)
        if second is not None and top.probability + second_p >= c.clarify_mass and top.probability - second_p < c.clarify_margin:
            if context.last_was_clarify:
                return Decision(Action.HANDOFF, "ambiguous_again", intent=top.intent, confidence=top.probability,
                                reason=HandoffReason.AMBIGUOUS, notes=notes)
            return Decision(Action.CLARIFY, "ambiguous", intent=top.intent, confidence=top.probability,
                            options=(top.intent, second.intent), notes=notes)
        if top.probability < c.handoff_below:
            return Decision(Action.HANDOFF, "low_confidence", intent=top.intent, confidence=top.probability,
                            reason=HandoffReason.LOW_CONFIDENCE, notes=notes)
        if context.failures_in_a_row + 1 >= c.max_failures:
            return Decision(Action.HANDOFF, "repeated_failure", intent=top.intent, confidence=top.probability,
                            reason=HandoffReason.REPEATED_FAILURE, notes=notes)
        return Decision(Action.FALLBACK, "unsure", intent=top.intent, confidence=top.probability, notes=notes)
