"""The reply policy: from what the models said about a message to what the bot does.

Pure and deterministic: ``Policy.decide`` takes the classifier's ranking, the retrieved past
replies and the conversation's recent history, and returns a :class:`Decision`.

Order of the rules (the first that applies wins):

1. **chosen option** - the customer clicked a clarification button -> answer that intent.
1b. **unreadable** - no letter or digit in any script outside markup (``bot/core/readable.py``:
   symbols, emoji, control characters, ``<script>`` markup) -> a failure: ask to rephrase; the
   ``max_failures``-th failure in a row hands off (``repeated_failure``), as in rule 7.
2. **explicit request** - the message asks for a person (an intent marked ``handoff: true``
   ranks first with at least ``handoff_below`` confidence, or the text matches
   ``explicit_handoff_pattern``) -> hand off.
3. **confident intent** - top probability >= the answer threshold (``answer_threshold`` when set,
   else the one chosen on validation and saved with the model, else 0.6), at least ``clarify_margin``
   above the second, and the message is in scope: its nearest training example has cosine
   similarity >= ``min_example_similarity`` (fine-tuned classifiers are confident about
   anything; distance to what they learnt from is not fooled), and that nearest example is not
   one of the KB's ``out_of_scope`` messages (a nearest-neighbour vote with an out-of-scope
   class, the score that did best in ``deskmate bench oos``) -> answer with the template.
4a. **case-specific action** - the best past reply scores >= ``retrieval_threshold`` but reports
   an action done for that customer (or the state of their case), the top intent is bound to a
   custom action or a form, the message is in scope, and the top intent is clear (at least ``handoff_below``,
   the second below ``clarify_ratio`` of it: an action may change things, so an ambiguous
   message is clarified first) -> answer the intent: its action runs instead (with its template
   asking for what the action needs until it is known).
4. **good retrieval** - the best *sendable* past reply scores >= ``retrieval_threshold`` -> send
   it. Sendable: general knowledge (not case-specific, not said as a person) and every
   ``{placeholder}`` in it has a value in this conversation's slots. Past replies are only
   knowledge: a case-specific one is a suggestion for agents, never the bot's own answer.
4b. **grounded generation** - a generator is configured and the best general past reply scores
   >= ``generation_min_score`` -> generate an answer grounded in the general retrieved replies
   (each sentence checked before it is sent). When generation fails or a sentence fails its
   check, the service decides again with ``generation=False``: the rules after this one.
   Weaker grounding never generates: it goes on to clarify or hand off.
5. **ambiguous** - in scope, the top two intents together hold >= ``clarify_mass`` and the
   second has at least ``clarify_ratio`` of the top's probability -> ask which one; if the
   previous bot turn already was a clarification -> hand off (``ambiguous``).
6. **low confidence** - top probability < ``handoff_below`` -> hand off (``low_confidence``).
7. otherwise a failure: ask to rephrase; the ``max_failures``-th failure in a row hands off
   (``repeated_failure``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.core.readable import is_readable
from retrieval.retriever import RetrievedReply
from training.prediction import IntentPrediction

DEFAULT_EXPLICIT_HANDOFF = (  # in English, Chinese and Spanish
    r"\b(real|live|actual)\s+(person|human|agent)\b|\b(talk|speak|chat)\s+(to|with)\s+(a\s+|an\s+|some\s+)?"
    r"(person|human|agent|someone|somebody|representative|operator)\b|\bhuman\s+agent\b"
    r"|转人工|人工客服|人工服务|真人客服|找真人|接人工|找人工|要人工"
    r"|\bhablar\s+con\s+(una\s+persona|un\s+agente|alguien|un\s+humano)\b|\b(persona\s+real|agente\s+humano)\b"
)


DEFAULT_ANSWER_THRESHOLD = 0.6


class Action(StrEnum):
    ANSWER = "answer"
    RETRIEVED = "retrieved"
    GENERATE = "generate"
    CLARIFY = "clarify"
    FALLBACK = "fallback"
    HANDOFF = "handoff"


class HandoffReason(StrEnum):
    LOW_CONFIDENCE = "low_confidence"
    EXPLICIT_REQUEST = "explicit_request"
    REPEATED_FAILURE = "repeated_failure"
    AMBIGUOUS = "ambiguous"
    ACTION = "action"  # a custom action paused the conversation (ConversationPaused)


@dataclass(frozen=True)
class PolicyConfig:
    answer_threshold: float | None = None  # None: the threshold chosen on validation with the model
    clarify_margin: float = 0.2
    clarify_mass: float = 0.6
    clarify_ratio: float = 0.3
    min_example_similarity: float = 0.5
    handoff_below: float = 0.25
    # Not calibrated: on STAR (`deskmate bench policy --star dialogues.jsonl.gz`, onnx-int8) no threshold
    # makes the policy's retrieved replies 90% right on the validation slice (44.7% at 0.8, 51.7% at best,
    # at 0.99 on 2% of the messages); see retrieval/bench/policy.py. Raising it mostly sends fewer of them.
    retrieval_threshold: float = 0.8
    generate: bool = False  # a generator is configured (set by the app, not by a variable)
    generation_min_score: float = 0.55  # grounding needed to generate: the best past reply's score
    max_failures: int = 2
    explicit_handoff_pattern: str = DEFAULT_EXPLICIT_HANDOFF


@dataclass(frozen=True)
class Understanding:
    """What the models made of one customer message."""

    prediction: IntentPrediction
    retrieved: tuple[RetrievedReply, ...] = ()
    example_similarity: float | None = None  # cosine to the nearest intent example; None: unknown
    nearest_is_out_of_scope: bool = False  # the nearest example is one of the KB's out-of-scope messages
    # per intent, each template variation's similarity to the message (aligned with kb.templates)
    variation_scores: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    pipeline: str = "main"  # which of the brain's pipelines read it: "main" or "crosslingual"


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
    slots: frozenset[str] = frozenset()  # the slots with a value in this conversation


class Policy:
    def __init__(
        self,
        config: PolicyConfig | None = None,
        *,
        handoff_intents: Sequence[str] = (),
        action_intents: Sequence[str] = (),
        model_threshold: float | None = None,
    ) -> None:
        self.config = config or PolicyConfig()
        chosen = self.config.answer_threshold
        self.answer_threshold = chosen if chosen is not None else model_threshold or DEFAULT_ANSWER_THRESHOLD
        self.handoff_intents = frozenset(handoff_intents)
        self.action_intents = frozenset(action_intents)  # intents a custom action answers
        self._explicit = re.compile(self.config.explicit_handoff_pattern, re.IGNORECASE)

    def decide(
        self,
        text: str,
        understanding: Understanding,
        context: TurnContext,
        *,
        chosen_intent: str | None = None,
        generation: bool = True,
    ) -> Decision:
        """The first rule that applies (see the module docstring).

        ``generation=False`` skips grounded generation even when a generator is configured: the
        decision after a generated reply was found unsupported.
        """
        c = self.config
        prediction, retrieved = understanding.prediction, understanding.retrieved
        top, second = prediction.top, prediction.second
        second_p = second.probability if second else 0.0
        notes = {"top": top.probability, "second": second_p}
        best = retrieved[0] if retrieved else None
        if best is not None:
            notes["retrieval"] = best.score
        # what the bot may say itself; also the fallback and grounding of a generated reply
        sendable = next((hit for hit in retrieved if hit.sendable(context.slots)), None)
        general = next((hit for hit in retrieved if hit.general), None)
        if sendable is not None and sendable is not best:
            notes["sendable_retrieval"] = sendable.score
        in_scope = True
        if understanding.example_similarity is not None:
            notes["example_similarity"] = understanding.example_similarity
            in_scope = understanding.example_similarity >= c.min_example_similarity
        if understanding.nearest_is_out_of_scope:
            notes["nearest_out_of_scope"] = 1.0
            in_scope = False

        def decision(action: Action, rule: str, **fields: Any) -> Decision:
            fields.setdefault("intent", top.intent)
            fields.setdefault("confidence", top.probability)
            return Decision(action, rule, notes=notes, **fields)

        if chosen_intent is not None and chosen_intent in context.offered_options:
            if chosen_intent in self.handoff_intents:
                return decision(
                    Action.HANDOFF,
                    "explicit_request",
                    intent=chosen_intent,
                    confidence=1.0,
                    reason=HandoffReason.EXPLICIT_REQUEST,
                )
            return decision(Action.ANSWER, "chosen_option", intent=chosen_intent, confidence=1.0)
        if not is_readable(text):
            if context.failures_in_a_row + 1 >= c.max_failures:
                return decision(Action.HANDOFF, "repeated_failure", reason=HandoffReason.REPEATED_FAILURE)
            return decision(Action.FALLBACK, "unreadable")
        explicit = top.intent in self.handoff_intents and top.probability >= c.handoff_below and in_scope
        if explicit or self._explicit.search(text):
            return decision(Action.HANDOFF, "explicit_request", reason=HandoffReason.EXPLICIT_REQUEST)
        if (
            in_scope
            and top.probability >= self.answer_threshold
            and top.probability - second_p >= c.clarify_margin - 1e-9
        ):
            return decision(Action.ANSWER, "confident_intent")
        strong_case = best is not None and best.score >= c.retrieval_threshold and best.case_specific
        clear_top = top.probability >= c.handoff_below and second_p < c.clarify_ratio * top.probability
        if strong_case and in_scope and clear_top and top.intent in self.action_intents:
            return decision(Action.ANSWER, "case_specific_action")
        if sendable is not None and sendable.score >= c.retrieval_threshold:
            return decision(Action.RETRIEVED, "good_retrieval", retrieved=sendable)
        if generation and c.generate and general is not None and general.score >= c.generation_min_score:
            return decision(Action.GENERATE, "grounded_generation", retrieved=general)
        close = second is not None and second_p >= c.clarify_ratio * top.probability
        if in_scope and close and top.probability + second_p >= c.clarify_mass:
            if context.last_was_clarify:
                return decision(Action.HANDOFF, "ambiguous_again", reason=HandoffReason.AMBIGUOUS)
            assert second is not None
            return decision(Action.CLARIFY, "ambiguous", options=(top.intent, second.intent))
        if top.probability < c.handoff_below:
            return decision(Action.HANDOFF, "low_confidence", reason=HandoffReason.LOW_CONFIDENCE)
        if context.failures_in_a_row + 1 >= c.max_failures:
            return decision(Action.HANDOFF, "repeated_failure", reason=HandoffReason.REPEATED_FAILURE)
        return decision(Action.FALLBACK, "out_of_scope" if not in_scope else "unsure")
