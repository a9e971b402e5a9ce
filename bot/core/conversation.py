"""The conversation as a state machine without I/O.

Feed it what happened (a customer message with what the models made of it); it returns the
events to store and send. Its state is rebuilt from stored events with :meth:`Conversation.apply`,
so the store holds the only truth. No sockets, no awaits: tested with plain calls.

States::

    BOT --handoff--> WAITING_FOR_AGENT --agent claims--> WITH_AGENT --hand back--> BOT
                                                                   --close-----> CLOSED

An agent may also claim a conversation the bot holds (to step in). While an agent holds it the
bot never answers; the service asks for suggestions for the agent instead. Only the agent who
holds a conversation can reply in it, hand it back or close it.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.core.composer import Composer
from bot.core.events import (
    AGENT_JOINED,
    AGENT_MESSAGE,
    BOT_REPLY,
    CLARIFY,
    CLOSED,
    CONTACT_REQUEST,
    CUSTOMER_MESSAGE,
    FEEDBACK,
    FORM,
    HANDED_BACK,
    HANDOFF,
    SLOT_SET,
    STATE_CHANGED,
    SURVEY,
    VISIT,
    NewEvent,
    StoredEvent,
)
from bot.core.forms.state import HANDED_OFF, NO_FORM, FormState
from bot.core.forms.turn import FormTurn
from bot.core.policy import Action, Decision, HandoffReason, Policy, TurnContext, Understanding
from bot.errors import ConversationError
from kb.model import KnowledgeBase
from kb.placeholders import known_slots

logger = logging.getLogger(__name__)

CONTEXT_TURNS = 2  # as many turns before a message as the KB build puts before each past turn


class State(StrEnum):
    BOT = "BOT"
    WAITING_FOR_AGENT = "WAITING_FOR_AGENT"
    WITH_AGENT = "WITH_AGENT"
    CLOSED = "CLOSED"


@dataclass(frozen=True)
class ActionOutcome:
    """What a custom action run came to, in plain values (the service runs it; see bot/actions)."""

    action: str
    messages: list[dict[str, Any]] = field(default_factory=list)  # {"text", "buttons": [{title, intent|value}]}
    slots: dict[str, Any] = field(default_factory=dict)  # JSON values as the action set them; None clears
    paused: bool = False  # ConversationPaused: hand the customer to a person
    error: str | None = None  # the action failed or timed out: answer with the template instead
    requested_slot: tuple[str | None] | None = None  # a form's validate action chose the next slot to ask


def slot_text(value: Any) -> str:
    """A slot's value as text (templates, the policy): JSON's true/false, not Python's True/False."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Agent:
    """Who acts on a conversation from the console."""

    username: str
    display_name: str


class Conversation:
    def __init__(self, conversation_id: str) -> None:
        self.id = conversation_id
        self._state = State.BOT
        self.failures_in_a_row = 0
        self.last_was_clarify = False
        self.offered_options: tuple[str, ...] = ()
        self.offered_values: tuple[tuple[str, str], ...] = ()  # (title, value) buttons of the last bot reply
        self.bot_turns = 0
        self.agent: str | None = None  # username of the agent holding the conversation
        self.handoff_reason: str | None = None
        self._turns: deque[str] = deque(maxlen=CONTEXT_TURNS)
        self._applied = 0
        self.slots: dict[str, str] = {}  # filled from entities, forms and custom actions, as text
        self.raw_slots: dict[str, Any] = {}  # the same, with the JSON values (what actions read)
        self.form: FormState = NO_FORM  # the active form, the slot it asks for (bot/forms)
        # the customer's language (ISO 639-1): their browser's at first, then the last message that said
        self.language: str | None = None
        self.language_noticed = False  # told once that the bot answers in the KB's language
        self._replaying = False

    @property
    def is_empty(self) -> bool:
        """No event was ever applied: the conversation does not exist in the store."""
        return self._applied == 0

    @property
    def recent_turns(self) -> tuple[str, ...]:
        """The last turns said by the customer, the bot or an agent, oldest first (retrieval context)."""
        return tuple(self._turns)

    @property
    def state(self) -> State:
        return self._state

    @state.setter
    def state(self, value: State) -> None:
        if value is not self._state:
            if not self._replaying:  # past transitions were logged when they happened
                logger.info("conversation %s: %s -> %s", self.id, self._state.value, value.value)
            self._state = value

    @property
    def bot_is_answering(self) -> bool:
        """Whether customer messages need the models (only while the bot holds the conversation)."""
        return self._state is State.BOT

    @classmethod
    def replay(cls, conversation_id: str, events: Iterable[StoredEvent]) -> Conversation:
        conversation = cls(conversation_id)
        conversation._replaying = True  # past transitions were logged when they happened
        for event in events:
            conversation.apply(event)
        conversation._replaying = False
        return conversation

    def apply(self, event: StoredEvent | NewEvent) -> None:
        """Update the state from one event (stored or just produced)."""
        self._applied += 1
        said = event.kind in (CUSTOMER_MESSAGE, AGENT_MESSAGE, CLARIFY, HANDOFF) or (
            event.kind == BOT_REPLY and event.data.get("source") != "system"
        )
        if said and isinstance(event.data.get("text"), str):
            self._turns.append(event.data["text"])
        if (event.kind == CUSTOMER_MESSAGE and isinstance(event.data.get("language"), str)) or (
            event.kind == VISIT and isinstance(event.data.get("language"), str) and self.language is None
        ):
            self.language = event.data["language"]
        if event.kind == SLOT_SET:
            if event.data.get("value") is None:
                self.slots.pop(event.data["slot"], None)
                self.raw_slots.pop(event.data["slot"], None)
            else:
                self.slots[event.data["slot"]] = slot_text(event.data["value"])
                self.raw_slots[event.data["slot"]] = event.data["value"]
        elif event.kind == FORM:
            self.form = FormState.from_data(event.data)
        elif event.kind == BOT_REPLY:
            self.language_noticed = self.language_noticed or event.data.get("notice") == "language"
            self.bot_turns += 1
            self.last_was_clarify = False
            buttons = event.data.get("buttons", [])
            self.offered_options = tuple(b["intent"] for b in buttons if b.get("intent"))
            self.offered_values = tuple((str(b["title"]), str(b["value"])) for b in buttons if "value" in b)
            if event.data.get("source") == "fallback":
                self.failures_in_a_row += 1
            elif event.data.get("source") != "system":
                self.failures_in_a_row = 0
        elif event.kind == CLARIFY:
            self.bot_turns += 1
            self.last_was_clarify = True
            self.offered_options = tuple(o["intent"] for o in event.data.get("options", []))
        elif event.kind == HANDOFF:
            self.failures_in_a_row = 0
            self.last_was_clarify = False
            self.offered_options = ()
        elif event.kind == STATE_CHANGED:
            self.state = State(event.data["to"])
            if self._state is State.WAITING_FOR_AGENT:
                self.handoff_reason = event.data.get("reason")
            if self._state is State.BOT:
                self.failures_in_a_row = 0
                self.last_was_clarify = False
        elif event.kind == AGENT_JOINED:
            self.agent = event.data["agent"]
        elif event.kind in (HANDED_BACK, CLOSED):
            self.agent = None

    def start(self, composer: Composer, *, page: str | None = None, language: str | None = None) -> list[NewEvent]:
        """The events that open a new conversation: where it started (``page``, when known) in which
        ``language`` (the browser's), the greeting (``composer``: of the KB's texts in that language)."""
        greeting = composer.greeting()
        where = {k: v for k, v in (("page", page), ("language", language)) if v}
        visit = [NewEvent(VISIT, where)] if where else []
        return self._emit([*visit, NewEvent(BOT_REPLY, {"text": greeting.text, **greeting.data})])

    def receive(
        self,
        text: str,
        *,
        client_id: str,
        chosen_intent: str | None = None,
        entities: Sequence[tuple[str, str]] = (),
        language: str | None = None,
    ) -> list[NewEvent]:
        """Record a customer message (stored before anything else happens, so it is never lost).

        ``entities`` are (entity, value) pairs found in the message; each fills the slot of that name.
        ``language`` is the message's, when it says (retrieval/languages/detect.py).
        """
        if self._state is State.CLOSED:
            raise ConversationError(f"conversation {self.id} is closed; start a new conversation")
        data: dict[str, object] = {"text": text}
        if chosen_intent is not None:
            data["chosen_intent"] = chosen_intent
        if language is not None:
            data["language"] = language
        events = [NewEvent(CUSTOMER_MESSAGE, data, client_id=client_id)]
        for slot, value in entities:
            if self.raw_slots.get(slot) != value:
                events.append(NewEvent(SLOT_SET, {"slot": slot, "value": value, "source": "entity"}))
        return self._emit(events)

    def language_notice(self, composer: Composer) -> list[NewEvent]:
        """Once per conversation, when the customer writes a language the KB has no texts in: the
        KB's ``other_language`` message, in its own language (``composer``'s), before the answer."""
        if self.language is None or self.language_noticed or self.language in composer.kb.languages:
            return []
        text = composer.system("other_language")
        return self._emit([NewEvent(BOT_REPLY, {"text": text, "source": "system", "notice": "language"})])

    def decide(
        self,
        text: str,
        understanding: Understanding,
        policy: Policy,
        *,
        chosen_intent: str | None = None,
        generation: bool = True,
    ) -> Decision:
        """What the policy makes of a message in this conversation's context (no events)."""
        known = frozenset(known_slots(self.slots))
        context = TurnContext(self.failures_in_a_row, self.last_was_clarify, self.offered_options, known)
        return policy.decide(text, understanding, context, chosen_intent=chosen_intent, generation=generation)

    def form_turn(
        self,
        *,
        kb: KnowledgeBase,
        composer: Composer,
        text: str,
        client_id: str,
        understanding: Understanding,
        decision: Decision,
        entities: Sequence[tuple[str, str]] = (),
    ) -> FormTurn | None:
        """The form's handling of this message, or None when no form is active or starts with it.

        A form starts when the decision answers an intent that names one (``form:`` in
        intents.yml); an active form reads every message first, as the answer to its question,
        and switches to another form only when the message answered nothing (bot/core/forms/turn.py).
        """
        if not self.bot_is_answering:
            return None
        start = None
        if not self.form.active:  # an active form reads the message first; it may switch forms itself
            if decision.action is Action.ANSWER and decision.intent in kb.intent_names:
                name = kb.intent(decision.intent).form
                start = kb.forms.get(name) if name is not None else None
            if start is None:
                return None
        return FormTurn(
            self,
            kb=kb,
            composer=composer,
            text=text,
            understanding=understanding,
            decision=decision,
            entities=list(entities),
            client_id=client_id,
            start=start,
        )

    def emit(self, events: list[NewEvent]) -> list[NewEvent]:
        """Apply events made outside these methods (a form turn's); returns them."""
        return self._emit(events)

    def action_answer(
        self,
        *,
        client_id: str,
        decision: Decision,
        understanding: Understanding,
        composer: Composer,
        outcome: ActionOutcome,
    ) -> list[NewEvent]:
        """The bot's answer from a custom action's outcome: its slots, its messages, a pause hands off.

        A failed action (timeout, error) answers with the intent's template instead, and the error
        is kept in the reply's data for the agent console.
        """
        ranking = [{"intent": s.intent, "p": round(s.probability, 4)} for s in understanding.prediction.ranking[:3]]
        events: list[NewEvent] = []
        for slot, value in outcome.slots.items():
            if self.raw_slots.get(slot) != value:
                events.append(NewEvent(SLOT_SET, {"slot": slot, "value": value, "source": f"action:{outcome.action}"}))
        meta: dict[str, Any] = {"reply_to": client_id, "intent": decision.intent}
        meta |= {"confidence": round(decision.confidence, 4), "rule": "action", "action": outcome.action}
        meta["ranking"] = ranking
        if outcome.error is not None:
            self._emit(events)
            reply = composer.compose(
                decision, turn=self.bot_turns, slots=self.slots, variation_scores=understanding.variation_scores
            )
            data = {"text": reply.text, **reply.data, **meta, "action_error": outcome.error}
            return [*events, *self._emit([NewEvent(reply.kind, data)])]
        for message in outcome.messages:
            buttons = [b for b in message.get("buttons", []) if b.get("intent")]
            events.append(
                NewEvent(BOT_REPLY, {"text": message["text"], "source": "action", "buttons": buttons, **meta})
            )
        if outcome.paused:
            handoff = composer.compose(
                Decision(
                    Action.HANDOFF,
                    "action",
                    intent=decision.intent,
                    confidence=decision.confidence,
                    reason=HandoffReason.ACTION,
                ),
                turn=self.bot_turns,
            )
            events.append(NewEvent(HANDOFF, {"text": handoff.text, **handoff.data, **meta, "reason": "action"}))
            events.append(
                NewEvent(
                    STATE_CHANGED, {"from": self._state.value, "to": State.WAITING_FOR_AGENT.value, "reason": "action"}
                )
            )
        return self._emit(events)

    def answer(
        self,
        text: str,
        *,
        client_id: str,
        understanding: Understanding | None,
        policy: Policy,
        composer: Composer,
        chosen_intent: str | None = None,
        decision: Decision | None = None,
    ) -> list[NewEvent]:
        """The bot's answer to a received message: nothing unless the bot holds the conversation."""
        if not self.bot_is_answering:
            return []
        if understanding is None:
            raise ConversationError("the bot holds this conversation: pass what the models understood")
        if decision is None:
            decision = self.decide(text, understanding, policy, chosen_intent=chosen_intent)
        reply = composer.compose(
            decision, turn=self.bot_turns, slots=self.slots, variation_scores=understanding.variation_scores
        )
        data: dict[str, object] = {"text": reply.text, "reply_to": client_id, **reply.data}
        data["ranking"] = [
            {"intent": s.intent, "p": round(s.probability, 4)} for s in understanding.prediction.ranking[:3]
        ]
        events = [NewEvent(reply.kind, data)]
        if decision.action is Action.HANDOFF:
            events.append(
                NewEvent(
                    STATE_CHANGED,
                    {"from": self._state.value, "to": State.WAITING_FOR_AGENT.value, "reason": data.get("reason")},
                )
            )
        return self._emit(events)

    # Agents ----------------------------------------------------------------------------------

    def claim(self, agent: Agent) -> list[NewEvent]:
        """``agent`` takes the conversation over (from the queue, or stepping in on the bot)."""
        if self._state is State.WITH_AGENT:
            if self.agent == agent.username:
                return []  # a resent claim: already theirs
            raise ConversationError(f"conversation {self.id} is already taken by {self.agent}")
        if self._state is State.CLOSED:
            raise ConversationError(f"conversation {self.id} is closed")
        who = {"agent": agent.username, "display_name": agent.display_name}
        ended = [NewEvent(FORM, {**self.form.to_data(), "status": HANDED_OFF})] if self.form.active else []
        return self._emit(
            [
                *ended,
                NewEvent(AGENT_JOINED, who),
                NewEvent(STATE_CHANGED, {"from": self._state.value, "to": State.WITH_AGENT.value, **who}),
            ]
        )

    def agent_reply(self, agent: Agent, text: str, *, client_id: str) -> list[NewEvent]:
        self._require_holder(agent, "reply")
        data = {"text": text, "agent": agent.username, "display_name": agent.display_name}
        return self._emit([NewEvent(AGENT_MESSAGE, data, client_id=client_id)])

    def hand_back(self, agent: Agent) -> list[NewEvent]:
        """Return the customer to the bot."""
        self._require_holder(agent, "hand back")
        return self._emit(
            [
                NewEvent(HANDED_BACK, {"agent": agent.username, "display_name": agent.display_name}),
                NewEvent(STATE_CHANGED, {"from": self._state.value, "to": State.BOT.value}),
            ]
        )

    def close(self, agent: Agent) -> list[NewEvent]:
        self._require_holder(agent, "close")
        return self._emit(
            [
                NewEvent(CLOSED, {"agent": agent.username, "display_name": agent.display_name}),
                NewEvent(STATE_CHANGED, {"from": self._state.value, "to": State.CLOSED.value}),
            ]
        )

    def end_by_customer(self) -> list[NewEvent]:
        """The customer ended the chat (the widget's "end chat"): closed, whoever was answering.

        Ending an ended chat changes nothing (a resent frame).
        """
        if self._state is State.CLOSED:
            return []
        return self._emit(
            [
                NewEvent(CLOSED, {"by": "customer"}),
                NewEvent(STATE_CHANGED, {"from": self._state.value, "to": State.CLOSED.value}),
            ]
        )

    def rate(self, reply: str, value: str, comment: str | None, *, client_id: str) -> list[NewEvent]:
        """The customer's thumbs on the answer ``reply`` (checked first: bot/core/feedback.py)."""
        data = {"reply": reply, "value": value, "comment": comment}
        return self._emit([NewEvent(FEEDBACK, data, client_id=client_id)])

    def answer_survey(self, score: int, comment: str | None, *, client_id: str) -> list[NewEvent]:
        """The customer's score for the whole, closed conversation (checked first: bot/core/feedback.py)."""
        return self._emit([NewEvent(SURVEY, {"score": score, "comment": comment}, client_id=client_id)])

    def leave_contact(self, email: str, text: str, *, client_id: str) -> list[NewEvent]:
        """The customer leaves an email and a message for follow-up (no agent was online)."""
        if self._state is State.CLOSED:
            raise ConversationError(f"conversation {self.id} is closed; start a new conversation")
        return self._emit([NewEvent(CONTACT_REQUEST, {"email": email, "text": text}, client_id=client_id)])

    def generated_answer(
        self,
        *,
        client_id: str,
        decision: Decision,
        understanding: Understanding,
        text: str,
        stream: str,
    ) -> list[NewEvent]:
        """The reply to a turn the policy chose to generate: the generated text, every sentence checked.

        ``stream`` ties the reply to the streamed deltas. A generation that failed or was withheld
        is not recorded here: the service answers by the policy's next rule instead.
        """
        data: dict[str, Any] = {
            "text": text,
            "reply_to": client_id,
            "source": "generated",
            "stream": stream,
            "rule": decision.rule,
            "intent": decision.intent,
            "confidence": round(decision.confidence, 4),
            "notes": {k: round(v, 4) for k, v in decision.notes.items()},
            "ranking": [
                {"intent": s.intent, "p": round(s.probability, 4)} for s in understanding.prediction.ranking[:3]
            ],
        }
        if decision.retrieved is not None:
            data["match"] = decision.retrieved.source
        return self._emit([NewEvent(BOT_REPLY, data)])

    def _require_holder(self, agent: Agent, what: str) -> None:
        if self._state is not State.WITH_AGENT or self.agent != agent.username:
            holder = f"held by {self.agent}" if self.agent else f"in state {self._state.value}"
            raise ConversationError(f"you cannot {what} in conversation {self.id}: it is {holder}; claim it first")

    def _emit(self, events: list[NewEvent]) -> list[NewEvent]:
        for event in events:
            self.apply(event)
        return events
