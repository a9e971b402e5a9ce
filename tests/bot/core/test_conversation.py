"""bot.core.conversation: the state machine with plain calls, and replay from stored events."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path

import pytest

from bot.core.composer import Composer
from bot.core.conversation import Agent, Conversation, State
from bot.core.events import (
    AGENT_JOINED,
    AGENT_MESSAGE,
    BOT_REPLY,
    CLARIFY,
    CONTACT_REQUEST,
    CUSTOMER_MESSAGE,
    HANDED_BACK,
    HANDOFF,
    STATE_CHANGED,
    NewEvent,
    StoredEvent,
)
from bot.core.policy import Policy, Understanding
from bot.errors import ConversationError
from kb.loader import load_kb
from kb.model import SYSTEM_DEFAULTS, Intent, KnowledgeBase
from retrieval.retriever import RetrievedReply
from training.prediction import rank

DEMO = Path(__file__).resolve().parents[3] / "kb" / "demo"
HUMAN = "talk_to_human"
LEAK_REPLIES = ("Sorry! We will send a new kettle.", "That should not happen; a replacement is on its way.")


def make_kb() -> KnowledgeBase:
    return KnowledgeBase(
        name="Kettle Co",
        description="Kettles.",
        language="en",
        system=dict(SYSTEM_DEFAULTS),
        intents=(
            Intent("kettle_leak", "Report a leak", ("my kettle leaks", "water everywhere")),
            Intent("opening_hours", "Opening hours", ("when are you open", "hours")),
            Intent(HUMAN, "Talk to a person", ("a person please", "human"), handoff=True),
        ),
        responses={"kettle_leak": LEAK_REPLIES, "opening_hours": ("We are open 9 to 5.",)},
        faq=(),
        dialogues=(),
    )


def understanding(probs: dict[str, float], *, retrieval: float | None = None) -> Understanding:
    retrieved = ()
    if retrieval is not None:
        retrieved = (RetrievedReply("Check the seal under the lid.", "kettle drips", retrieval, "dialogue:k1#0"),)
    return Understanding(rank(list(probs), list(probs.values())), retrieved)


CONFIDENT = {"kettle_leak": 0.9, "opening_hours": 0.05, HUMAN: 0.05}
AMBIGUOUS = {"kettle_leak": 0.5, "opening_hours": 0.45, HUMAN: 0.05}
LOW = {"kettle_leak": 0.2, "opening_hours": 0.2, HUMAN: 0.2, "a": 0.2, "b": 0.2}
UNSURE = {"kettle_leak": 0.4, "opening_hours": 0.15, HUMAN: 0.15, "a": 0.15, "b": 0.15}


class Harness:
    """A conversation with its policy and composer, keeping every event it produced."""

    def __init__(self, kb: KnowledgeBase | None = None) -> None:
        self.kb = kb or make_kb()
        self.policy = Policy(handoff_intents=[i.name for i in self.kb.intents if i.handoff])
        self.composer = Composer(self.kb)
        self.conversation = Conversation("c_test")
        self.log: list[NewEvent] = []
        self._ids = itertools.count(1)

    def start(self) -> list[NewEvent]:
        return self._keep(self.conversation.start(self.composer))

    def say(
        self,
        text: str,
        probs: dict[str, float] | None = None,
        *,
        chosen: str | None = None,
        retrieval: float | None = None,
    ) -> list[NewEvent]:
        client_id = f"m{next(self._ids)}"
        received = self.conversation.receive(text, client_id=client_id, chosen_intent=chosen)
        assert [e.kind for e in received] == [CUSTOMER_MESSAGE]
        self._keep(received)
        answer = self.conversation.answer(
            text,
            client_id=client_id,
            understanding=understanding(probs, retrieval=retrieval) if probs is not None else None,
            policy=self.policy,
            composer=self.composer,
            chosen_intent=chosen,
        )
        return self._keep(answer)

    def _keep(self, events: list[NewEvent]) -> list[NewEvent]:
        self.log.extend(events)
        return events


def stored(conversation_id: str, events: Iterable[NewEvent]) -> list[StoredEvent]:
    return [
        StoredEvent(conversation_id, seq, e.kind, dict(e.data), 1_700_000_000.0 + seq, e.client_id)
        for seq, e in enumerate(events, start=1)
    ]


def snapshot(conversation: Conversation) -> tuple[object, ...]:
    return (
        conversation.state,
        conversation.failures_in_a_row,
        conversation.last_was_clarify,
        conversation.offered_options,
        conversation.bot_turns,
    )


def test_new_conversation_is_with_the_bot() -> None:
    conversation = Conversation("c1")

    assert conversation.state is State.BOT
    assert conversation.bot_is_answering
    assert snapshot(conversation) == (State.BOT, 0, False, (), 0)


def test_start_greets() -> None:
    h = Harness()

    (greeting,) = h.start()

    assert greeting.kind == BOT_REPLY
    assert greeting.data == {"text": SYSTEM_DEFAULTS["greeting"], "source": "system"}
    assert h.conversation.bot_turns == 1


def test_receive_records_the_message() -> None:
    conversation = Conversation("c1")

    (event,) = conversation.receive("my kettle leaks", client_id="m1")
    (clicked,) = conversation.receive("Report a leak", client_id="m2", chosen_intent="kettle_leak")

    assert event == NewEvent(CUSTOMER_MESSAGE, {"text": "my kettle leaks"}, client_id="m1")
    assert clicked.data == {"text": "Report a leak", "chosen_intent": "kettle_leak"}
    assert conversation.state is State.BOT


def test_confident_answer_uses_the_template() -> None:
    h = Harness()
    h.start()

    (reply,) = h.say("my kettle leaks", CONFIDENT)

    assert reply.kind == BOT_REPLY
    assert reply.data["text"] in LEAK_REPLIES
    assert reply.data["reply_to"] == "m1"
    assert reply.data["source"] == "template"
    assert reply.data["intent"] == "kettle_leak"
    assert reply.data["rule"] == "confident_intent"
    assert reply.data["ranking"] == [
        {"intent": "kettle_leak", "p": 0.9},
        {"intent": "opening_hours", "p": 0.05},
        {"intent": HUMAN, "p": 0.05},
    ]
    assert h.conversation.state is State.BOT


def test_variations_rotate_over_turns() -> None:
    h = Harness()

    texts = [h.say("my kettle leaks", CONFIDENT)[0].data["text"] for _ in range(3)]

    assert texts == [LEAK_REPLIES[0], LEAK_REPLIES[1], LEAK_REPLIES[0]]


def test_retrieved_answer() -> None:
    h = Harness()

    (reply,) = h.say("kettle drips a bit", AMBIGUOUS, retrieval=0.93)

    assert reply.data["source"] == "retrieved"
    assert reply.data["text"] == "Check the seal under the lid."
    assert reply.data["match"] == "dialogue:k1#0"


def test_handoff_moves_to_waiting_for_agent() -> None:
    h = Harness()
    h.start()

    handoff, change = h.say("something odd", LOW)

    assert handoff.kind == HANDOFF
    assert handoff.data["reason"] == "low_confidence"
    assert handoff.data["text"] == SYSTEM_DEFAULTS["handoff"]
    assert handoff.data["reply_to"] == "m1"
    assert change == NewEvent(STATE_CHANGED, {"from": "BOT", "to": "WAITING_FOR_AGENT", "reason": "low_confidence"})
    assert h.conversation.state is State.WAITING_FOR_AGENT
    assert not h.conversation.bot_is_answering


def test_explicit_request_hands_off() -> None:
    h = Harness()

    events = h.say("can I talk to a human", CONFIDENT)

    assert [e.kind for e in events] == [HANDOFF, STATE_CHANGED]
    assert events[0].data["reason"] == "explicit_request"
    assert h.conversation.state is State.WAITING_FOR_AGENT


def test_no_bot_answer_while_waiting_for_an_agent() -> None:
    h = Harness()
    h.say("talk to a person", CONFIDENT)

    assert h.say("hello? anyone?", None) == []  # the models are not even needed
    assert h.say("my kettle leaks", CONFIDENT) == []
    assert [e.kind for e in h.log][-2:] == [CUSTOMER_MESSAGE, CUSTOMER_MESSAGE]  # still recorded
    assert h.conversation.state is State.WAITING_FOR_AGENT


def test_bot_needs_an_understanding_while_it_holds_the_conversation() -> None:
    h = Harness()

    with pytest.raises(ConversationError, match="understood"):
        h.say("hello", None)


def test_clarify_then_chosen_option() -> None:
    h = Harness()

    (clarify,) = h.say("kettle question", AMBIGUOUS)

    assert clarify.kind == CLARIFY
    assert clarify.data["options"] == [
        {"intent": "kettle_leak", "label": "Report a leak"},
        {"intent": "opening_hours", "label": "Opening hours"},
    ]
    assert h.conversation.last_was_clarify
    assert h.conversation.offered_options == ("kettle_leak", "opening_hours")

    (reply,) = h.say("Opening hours", AMBIGUOUS, chosen="opening_hours")

    assert reply.data["rule"] == "chosen_option"
    assert reply.data["text"] == "We are open 9 to 5."
    assert not h.conversation.last_was_clarify
    assert h.conversation.offered_options == ()


def test_ambiguous_twice_hands_off() -> None:
    h = Harness()
    h.say("kettle question", AMBIGUOUS)

    events = h.say("still not sure", AMBIGUOUS)

    assert [e.kind for e in events] == [HANDOFF, STATE_CHANGED]
    assert events[0].data["reason"] == "ambiguous"
    assert h.conversation.state is State.WAITING_FOR_AGENT


def test_repeated_failure_hands_off() -> None:
    h = Harness()

    (first,) = h.say("blorp", UNSURE)
    assert first.data["source"] == "fallback"
    assert h.conversation.failures_in_a_row == 1

    second = h.say("blorp again", UNSURE)

    assert [e.kind for e in second] == [HANDOFF, STATE_CHANGED]
    assert second[0].data["reason"] == "repeated_failure"
    assert h.conversation.failures_in_a_row == 0


def test_a_good_answer_resets_the_failure_count() -> None:
    h = Harness()
    h.say("blorp", UNSURE)
    h.say("my kettle leaks", CONFIDENT)

    assert h.conversation.failures_in_a_row == 0
    (again,) = h.say("blorp", UNSURE)
    assert again.data["source"] == "fallback"
    assert h.conversation.state is State.BOT


def test_replay_rebuilds_the_same_state() -> None:
    h = Harness()
    h.start()
    h.say("blorp", UNSURE)
    h.say("kettle question", AMBIGUOUS)
    middle = snapshot(h.conversation)
    assert snapshot(Conversation.replay("c_test", stored("c_test", h.log))) == middle

    h.say("still not sure", AMBIGUOUS)
    h.say("hello?", None)

    replayed = Conversation.replay("c_test", stored("c_test", h.log))

    assert snapshot(replayed) == snapshot(h.conversation)
    assert replayed.state is State.WAITING_FOR_AGENT
    assert replayed.id == "c_test"


def test_replayed_conversation_carries_on_where_it_left() -> None:
    h = Harness()
    h.say("blorp", UNSURE)

    replayed = Conversation.replay("c_test", stored("c_test", h.log))
    events = replayed.answer(
        "blorp", client_id="m9", understanding=understanding(UNSURE), policy=h.policy, composer=h.composer
    )

    assert events[0].data["reason"] == "repeated_failure"  # the earlier failure was remembered


def test_agent_states_and_closing() -> None:
    conversation = Conversation("c1")
    conversation.apply(NewEvent(STATE_CHANGED, {"from": "BOT", "to": "WITH_AGENT"}))
    assert conversation.state is State.WITH_AGENT
    assert not conversation.bot_is_answering

    conversation.apply(NewEvent(STATE_CHANGED, {"from": "WITH_AGENT", "to": "CLOSED"}))

    assert conversation.state is State.CLOSED
    with pytest.raises(ConversationError, match="closed"):
        conversation.receive("hello again", client_id="m5")


def test_closed_state_survives_replay() -> None:
    events = [
        NewEvent(CUSTOMER_MESSAGE, {"text": "hi"}, client_id="m1"),
        NewEvent(STATE_CHANGED, {"from": "BOT", "to": "CLOSED"}),
    ]

    replayed = Conversation.replay("c1", stored("c1", events))

    with pytest.raises(ConversationError):
        replayed.receive("anyone?", client_id="m2")


def test_agent_can_give_the_conversation_back_to_the_bot() -> None:
    h = Harness()
    h.say("talk to a person", CONFIDENT)
    h.conversation.apply(NewEvent(STATE_CHANGED, {"from": "WAITING_FOR_AGENT", "to": "BOT"}))

    (reply,) = h.say("my kettle leaks", CONFIDENT)

    assert reply.data["source"] == "template"


def test_with_the_demo_kb() -> None:
    kb = load_kb(DEMO)
    h = Harness(kb)
    h.start()
    labels = kb.intent_names
    probs = {name: 0.01 / (len(labels) - 1) for name in labels}
    probs["order_status"] = 0.99

    (reply,) = h.say("where is my order?", probs)
    (greeting,) = h.log[:1]

    assert greeting.data["text"] == kb.system["greeting"]
    assert reply.data["text"] in kb.responses["order_status"]
    assert reply.data["intent"] == "order_status"

    events = h.say("I want to talk to a real person", probs)
    assert [e.kind for e in events] == [HANDOFF, STATE_CHANGED]
    assert events[0].data["text"] == kb.system["handoff"]


# --- agents ----------------------------------------------------------------------------------

SAM = Agent("sam", "Sam")
ALEX = Agent("alex", "Alex")


def handed_off() -> Harness:
    harness = Harness()
    harness.start()
    harness.say("a person please", {HUMAN: 0.9, "kettle_leak": 0.05, "opening_hours": 0.05})
    assert harness.conversation.state is State.WAITING_FOR_AGENT
    return harness


def test_an_agent_claims_replies_and_the_bot_stays_silent() -> None:
    harness = handed_off()
    conversation = harness.conversation

    joined = harness._keep(conversation.claim(SAM))
    assert [e.kind for e in joined] == [AGENT_JOINED, STATE_CHANGED]
    assert conversation.state is State.WITH_AGENT and conversation.agent == "sam"
    assert harness.say("my kettle leaks", CONFIDENT) == []  # no bot answer while Sam holds it
    reply = harness._keep(conversation.agent_reply(SAM, "I'll send a new one.", client_id="agent:sam:r1"))
    assert reply[0].kind == AGENT_MESSAGE and reply[0].data["display_name"] == "Sam"
    assert reply[0].client_id == "agent:sam:r1"


def test_a_second_claim_is_refused_naming_the_holder_and_a_resent_claim_is_a_no_op() -> None:
    conversation = handed_off().conversation
    conversation.claim(SAM)

    with pytest.raises(ConversationError, match="already taken by sam"):
        conversation.claim(ALEX)
    assert conversation.claim(SAM) == []


def test_only_the_holder_replies_hands_back_or_closes() -> None:
    conversation = handed_off().conversation
    with pytest.raises(ConversationError, match="claim it first"):
        conversation.agent_reply(SAM, "hi", client_id="agent:sam:1")
    conversation.claim(SAM)
    for act in (
        lambda: conversation.agent_reply(ALEX, "hi", client_id="agent:alex:1"),
        lambda: conversation.hand_back(ALEX),
        lambda: conversation.close(ALEX),
    ):
        with pytest.raises(ConversationError, match="held by sam"):
            act()


def test_hand_back_returns_the_customer_to_the_bot_which_answers_again() -> None:
    harness = handed_off()
    harness.conversation.claim(SAM)
    events = harness.conversation.hand_back(SAM)

    assert [e.kind for e in events] == [HANDED_BACK, STATE_CHANGED]
    assert harness.conversation.state is State.BOT and harness.conversation.agent is None
    answer = harness.say("my kettle leaks", CONFIDENT)
    assert answer[0].kind == BOT_REPLY and answer[0].data["text"] in LEAK_REPLIES


def test_close_ends_the_conversation_and_replay_rebuilds_the_agent_state() -> None:
    harness = handed_off()
    harness._keep(harness.conversation.claim(SAM))
    replayed = Conversation.replay("c_test", stored("c_test", harness.log))
    assert replayed.state is State.WITH_AGENT and replayed.agent == "sam"
    assert replayed.handoff_reason == "explicit_request"

    harness._keep(harness.conversation.close(SAM))
    assert harness.conversation.state is State.CLOSED
    with pytest.raises(ConversationError, match="closed"):
        harness.conversation.receive("hello?", client_id="late")
    with pytest.raises(ConversationError, match="closed"):
        harness.conversation.claim(ALEX)


def test_a_customer_leaves_an_email_while_waiting() -> None:
    conversation = handed_off().conversation
    (event,) = conversation.leave_contact("kim@example.com", "Please call back", client_id="c1")

    assert event.kind == CONTACT_REQUEST and event.client_id == "c1"
    assert event.data == {"email": "kim@example.com", "text": "Please call back"}
    assert conversation.state is State.WAITING_FOR_AGENT


def test_recent_turns_keep_the_last_two_things_said_and_survive_replay() -> None:
    harness = Harness()
    harness.start()
    assert harness.conversation.recent_turns == ()  # the greeting is not part of the dialogue
    harness.say("my kettle leaks", CONFIDENT)
    harness.say("when are you open", {"opening_hours": 0.9, "kettle_leak": 0.05, HUMAN: 0.05})

    assert harness.conversation.recent_turns == ("when are you open", "We are open 9 to 5.")
    replayed = Conversation.replay("c_test", stored("c_test", harness.log))
    assert replayed.recent_turns == harness.conversation.recent_turns


# --- slots and custom actions ----------------------------------------------------------------


def test_entities_fill_slots_once_and_replay_keeps_them() -> None:
    from bot.core.events import SLOT_SET

    harness = Harness()
    harness.start()
    received = harness._keep(
        harness.conversation.receive("order PC-123456", client_id="m1", entities=[("order_id", "PC-123456")])
    )
    assert [e.kind for e in received] == [CUSTOMER_MESSAGE, SLOT_SET]
    again = harness.conversation.receive("PC-123456 again", client_id="m2", entities=[("order_id", "PC-123456")])
    assert [e.kind for e in again] == [CUSTOMER_MESSAGE]  # unchanged value: no new slot event
    harness._keep(again)

    assert Conversation.replay("c_test", stored("c_test", harness.log)).slots == {"order_id": "PC-123456"}


def test_an_action_outcome_sets_slots_replies_and_a_pause_hands_off() -> None:
    from bot.core.conversation import ActionOutcome
    from bot.core.events import SLOT_SET
    from bot.core.policy import Action, Decision

    harness = Harness()
    harness.start()
    decision = Decision(Action.ANSWER, "confident_intent", intent="kettle_leak", confidence=0.9)
    outcome = ActionOutcome(
        "action_check",
        messages=[
            {"text": "Your kettle is under warranty.", "buttons": [{"title": "Hours", "intent": "opening_hours"}]}
        ],
        slots={"warranty": "yes"},
        paused=True,
    )
    events = harness.conversation.action_answer(
        client_id="m1",
        decision=decision,
        understanding=understanding(CONFIDENT),
        composer=harness.composer,
        outcome=outcome,
    )

    assert [e.kind for e in events] == [SLOT_SET, BOT_REPLY, HANDOFF, STATE_CHANGED]
    assert events[1].data["source"] == "action" and events[1].data["action"] == "action_check"
    assert events[2].data["reason"] == "action"
    assert harness.conversation.slots == {"warranty": "yes"}
    assert harness.conversation.state is State.WAITING_FOR_AGENT
    assert harness.conversation.offered_options == ()  # the handoff came after the buttons


def test_a_failed_action_answers_with_the_template_and_keeps_the_error_for_agents() -> None:
    from bot.core.conversation import ActionOutcome
    from bot.core.policy import Action, Decision

    harness = Harness()
    harness.start()
    decision = Decision(Action.ANSWER, "confident_intent", intent="kettle_leak", confidence=0.9)
    (reply,) = harness.conversation.action_answer(
        client_id="m1",
        decision=decision,
        understanding=understanding(CONFIDENT),
        composer=harness.composer,
        outcome=ActionOutcome("action_check", error="the action server at http://x did not answer"),
    )

    assert reply.kind == BOT_REPLY and reply.data["text"] in LEAK_REPLIES
    assert reply.data["action_error"].startswith("the action server")


def test_a_generated_answer_is_recorded_with_its_stream() -> None:
    from bot.core.policy import Action, Decision

    harness = Harness()
    harness.start()
    best = RetrievedReply("Check the seal under the lid.", "kettle drips", 0.7, "dialogue:k1#0")
    decision = Decision(Action.GENERATE, "grounded_generation", intent="kettle_leak", confidence=0.4, retrieved=best)
    (ok,) = harness.conversation.generated_answer(
        client_id="m1",
        decision=decision,
        understanding=understanding(UNSURE),
        text="Try the seal.",
        stream="s1",
    )

    assert ok.data["source"] == "generated" and ok.data["stream"] == "s1" and ok.data["match"] == "dialogue:k1#0"
    assert harness.conversation.failures_in_a_row == 0
