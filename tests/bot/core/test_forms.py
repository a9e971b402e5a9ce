"""bot.core.forms: a form's turns with plain calls (scripted understanding and action outcomes), and replay."""

from __future__ import annotations

import itertools

import pytest

from bot.core.composer import Composer
from bot.core.conversation import ActionOutcome, Agent, Conversation, State
from bot.core.events import BOT_REPLY, FORM, HANDOFF, NewEvent, StoredEvent
from bot.core.forms.replies import is_stop, yes_or_no
from bot.core.forms.requests import AnswerInstead, RunAction
from bot.core.forms.turn import FormTurn
from bot.core.policy import Policy, Understanding
from kb.forms_model import StopQuestion
from kb.loader import load_kb
from kb.model import SYSTEM_DEFAULTS, KnowledgeBase, Template
from training.prediction import rank

INTENTS = """
intents:
  - name: order_status
    form: order_lookup
    examples: [where is my order, track my order, order status, has it shipped, where is my parcel]
  - name: shipping
    examples: [how much is delivery, shipping cost, delivery price, what does postage cost, is shipping free]
  - name: open_ticket
    form: ticket
    examples: [open a ticket, raise a ticket, log an issue, create a support case, report a problem]
  - name: talk_to_human
    handoff: true
    examples: [a person please, human, agent, let me talk to someone, real person]
"""
RESPONSES = """
responses:
  shipping: ["Delivery costs 4.95."]
  ask_order_id: ["What's your order number?"]
  lookup_done: ["Looking up {order_id} now."]
  ask_email: ["What's your email?"]
  ask_topic:
    - text: "What is it about?"
      buttons:
        - {title: An order, value: order}
        - {title: Something else}
  ask_description: ["Describe the problem."]
  ask_urgent: ["Is it urgent?"]
  confirm_ticket: ["Open a ticket about {topic} for {email}?"]
"""
ENTITIES = """
entities:
  - name: order_id
    pattern: 'PC-\\d{6}'
  - name: email
    pattern: '[a-z.]+@[a-z]+\\.[a-z]+'
"""
FORMS = """
forms:
  order_lookup:
    slots:
      - name: order_id
        check: {pattern: 'PC-\\d{6}', message: "Order numbers look like PC-123456."}
    max_failures: 2
    done: {response: lookup_done}
  ticket:
    slots:
      - email
      - name: topic
        from: button
      - name: description
        from: text
        not_intent: [talk_to_human]
      - name: urgent
        from: intent
        intents: {affirm: true, deny: false}
    confirm: confirm_ticket
    done: {action: action_open_ticket}
"""


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    root = tmp_path_factory.mktemp("forms_kb")
    (root / "kb.yml").write_text("name: Test Shop\n")
    (root / "intents.yml").write_text(INTENTS)
    (root / "responses.yml").write_text(RESPONSES)
    (root / "entities.yml").write_text(ENTITIES)
    (root / "forms.yml").write_text(FORMS)
    return load_kb(root)


def understanding(intent: str | None) -> Understanding:
    names = ["order_status", "shipping", "open_ticket", "talk_to_human"]
    if intent is None:  # nothing stands out
        return Understanding(rank(names, [0.3, 0.25, 0.25, 0.2]))
    probs = [0.94 if name == intent else 0.02 for name in names]
    return Understanding(rank(names, probs))


class Harness:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.policy = Policy(handoff_intents=["talk_to_human"])
        self.composer = Composer(kb)
        self.conversation = Conversation("c_forms")
        self.log: list[NewEvent] = []
        self.requests: list[RunAction | AnswerInstead] = []
        self._ids = itertools.count(1)

    def say(
        self,
        text: str,
        intent: str | None = None,
        *,
        entities: tuple[tuple[str, str], ...] = (),
        outcomes: dict[str, ActionOutcome] | None = None,
    ) -> list[NewEvent]:
        client_id = f"m{next(self._ids)}"
        events = self.conversation.receive(text, client_id=client_id, entities=entities)
        seen = understanding(intent)
        decision = self.conversation.decide(text, seen, self.policy)
        turn = self.conversation.form_turn(
            kb=self.kb,
            composer=self.composer,
            text=text,
            client_id=client_id,
            understanding=seen,
            decision=decision,
            entities=entities,
        )
        if turn is None:
            events += self.conversation.answer(
                text,
                client_id=client_id,
                understanding=seen,
                policy=self.policy,
                composer=self.composer,
                decision=decision,
            )
        else:
            events += self._drive(turn, text, client_id, seen, outcomes or {})
        self.log += events
        return events

    def _drive(
        self, turn: FormTurn, text: str, client_id: str, seen: Understanding, outcomes: dict[str, ActionOutcome]
    ) -> list[NewEvent]:
        while turn.pending is not None:
            request = turn.pending
            self.requests.append(request)
            if isinstance(request, AnswerInstead):
                turn.resume(
                    self.conversation.answer(
                        text,
                        client_id=client_id,
                        understanding=seen,
                        policy=self.policy,
                        composer=self.composer,
                        decision=request.decision,
                    )
                )
            else:
                turn.resume(outcomes.get(request.action, ActionOutcome(request.action)))
        return turn.events


def replies(events: list[NewEvent]) -> list[str]:
    return [e.data["text"] for e in events if e.kind in (BOT_REPLY, HANDOFF)]


def asks(events: list[NewEvent]) -> list[str]:
    return [e.data["asks"] for e in events if e.kind == BOT_REPLY and "asks" in e.data]


def test_the_number_in_a_later_message_fills_the_slot_although_no_intent_matches(kb: KnowledgeBase) -> None:
    h = Harness(kb)
    first = h.say("where is my order?", "order_status")
    assert asks(first) == ["order_id"]
    assert h.conversation.form.form == "order_lookup"
    assert h.conversation.form.requested_slot == "order_id"
    second = h.say("PC-483920", None, entities=(("order_id", "PC-483920"),))
    assert replies(second) == ["Looking up PC-483920 now."]
    assert h.conversation.slots["order_id"] == "PC-483920"
    assert not h.conversation.form.active
    done = [e for e in second if e.kind == BOT_REPLY][-1]
    assert done.data["response"] == "lookup_done" and done.data["form"] == "order_lookup"


def test_a_known_value_is_not_asked_again(kb: KnowledgeBase) -> None:
    h = Harness(kb)
    events = h.say("where is PC-111111?", "order_status", entities=(("order_id", "PC-111111"),))
    assert asks(events) == []
    assert replies(events) == ["Looking up PC-111111 now."]


def test_a_failed_check_is_asked_again_with_its_message_then_hands_off(kb: KnowledgeBase) -> None:
    h = Harness(kb)
    h.say("where is my order?", "order_status")
    again = h.say("it's 12345", None)
    assert replies(again) == ["Order numbers look like PC-123456.", "What's your order number?"]
    assert h.conversation.form.failures == 1
    gave_up = h.say("no idea", None)
    handoff = next(e for e in gave_up if e.kind == HANDOFF)
    assert handoff.data["reason"] == "form_failed"
    assert handoff.data["form"] == "order_lookup"
    ended = next(e for e in gave_up if e.kind == FORM)
    assert (ended.data["status"], ended.data["failures"]) == ("failed", 2)  # max_failures: 2 failed answers
    assert h.conversation.state is State.WAITING_FOR_AGENT
    assert not h.conversation.form.active


def test_a_question_mid_form_is_answered_then_the_question_asked_again(kb: KnowledgeBase) -> None:
    h = Harness(kb)
    h.say("where is my order?", "order_status")
    events = h.say("how much is delivery?", "shipping")
    assert replies(events) == ["Delivery costs 4.95.", "What's your order number?"]
    assert h.conversation.form.active and h.conversation.form.failures == 0
    assert isinstance(h.requests[-1], AnswerInstead)


def test_stop_asks_to_confirm_then_leaves_the_form(kb: KnowledgeBase) -> None:
    h = Harness(kb)
    h.say("where is my order?", "order_status")
    asked = h.say("never mind", None)
    assert h.conversation.form.pending == "stop"
    assert [b["title"] for b in asked[-1].data["buttons"]] == ["Yes", "No"]
    stopped = h.say("yes", None)
    assert not h.conversation.form.active
    assert "stopped" in replies(stopped)[0]


def test_no_to_stop_carries_on_with_the_question(kb: KnowledgeBase) -> None:
    h = Harness(kb)
    h.say("where is my order?", "order_status")
    h.say("cancel", None)
    events = h.say("no", None)
    assert h.conversation.form.active and h.conversation.form.pending is None
    assert asks(events) == ["order_id"]


def test_explicit_handoff_mid_form_gives_the_agent_what_was_collected(kb: KnowledgeBase) -> None:
    h = Harness(kb)
    h.say("open a ticket", "open_ticket")
    h.say("me@example.com", None, entities=(("email", "me@example.com"),))
    events = h.say("let me talk to someone", "talk_to_human")
    handoff = next(e for e in events if e.kind == HANDOFF)
    assert handoff.data["collected"] == {"email": "me@example.com"}
    assert handoff.data["reason"] == "explicit_request" and handoff.data["form"] == "ticket"


def test_ticket_buttons_text_intent_confirm_and_done_action(kb: KnowledgeBase) -> None:
    h = Harness(kb)
    assert asks(h.say("raise a ticket", "open_ticket")) == ["email"]
    assert asks(h.say("me@example.com", None, entities=(("email", "me@example.com"),))) == ["topic"]
    assert asks(h.say("an order!", None)) == ["description"]
    assert h.conversation.raw_slots["topic"] == "order"
    assert asks(h.say("My parcel is damaged", "shipping")) == ["urgent"]  # the whole reply, whatever its intent
    confirm = h.say("yeah", None)
    assert h.conversation.raw_slots["urgent"] is True
    assert replies(confirm) == ["Open a ticket about order for me@example.com?"]
    assert h.conversation.form.pending == "confirm"
    opened = ActionOutcome(
        "action_open_ticket", messages=[{"text": "Ticket TK-1 opened.", "buttons": []}], slots={"ticket_id": "TK-1"}
    )
    done = h.say("yes please", None, outcomes={"action_open_ticket": opened})
    assert replies(done) == ["Ticket TK-1 opened."]
    assert h.conversation.slots["ticket_id"] == "TK-1"
    assert [e.data["status"] for e in done if e.kind == FORM] == ["completed"]


def test_no_at_the_confirmation_goes_through_the_form_again(kb: KnowledgeBase) -> None:
    h = Harness(kb)
    h.say("raise a ticket", "open_ticket")
    h.say("me@example.com", None, entities=(("email", "me@example.com"),))
    h.say("Something else", None)
    h.say("it broke", None)
    h.say("no", None)
    events = h.say("no", None)
    assert asks(events) == ["email"]
    assert "email" not in h.conversation.slots


def test_a_failed_done_action_hands_off_and_never_claims_it_was_done(kb: KnowledgeBase) -> None:
    h = Harness(kb)
    h.say("raise a ticket", "open_ticket")
    h.say("me@example.com", None, entities=(("email", "me@example.com"),))
    h.say("An order", None)
    h.say("it broke", None)
    h.say("no", None)
    failed = ActionOutcome("action_open_ticket", error="action server down")
    events = h.say("yes", None, outcomes={"action_open_ticket": failed})
    handoff = next(e for e in events if e.kind == HANDOFF)
    assert handoff.data["collected"]["description"] == "it broke"
    assert handoff.data["action_error"] == "action server down"
    assert not any("opened" in text for text in replies(events))


def test_a_validate_action_rejects_then_accepts_what_it_extracted(kb: KnowledgeBase) -> None:
    h = Harness(kb)
    form = kb.forms["order_lookup"]
    object.__setattr__(form, "validate", "validate_order_lookup")
    try:
        h.say("where is my order?", "order_status")
        call = h.requests[-1]
        assert isinstance(call, RunAction) and call.purpose == "validate" and call.candidates == {}
        rejected = ActionOutcome(
            "validate_order_lookup",
            messages=[{"text": "No such order.", "buttons": []}],
            slots={"order_id": None},
        )
        events = h.say(
            "PC-999999", None, entities=(("order_id", "PC-999999"),), outcomes={"validate_order_lookup": rejected}
        )
        assert replies(events) == ["No such order.", "What's your order number?"]
        assert "order_id" not in h.conversation.slots  # the entity's value was cleared
        found = ActionOutcome("validate_order_lookup", slots={"order_id": "PC-123456"})
        events = h.say("pc 123456", None, outcomes={"validate_order_lookup": found})
        assert replies(events) == ["Looking up PC-123456 now."]
    finally:
        object.__setattr__(form, "validate", None)


def test_state_is_rebuilt_from_events(kb: KnowledgeBase) -> None:
    h = Harness(kb)
    h.say("raise a ticket", "open_ticket")
    h.say("me@example.com", None, entities=(("email", "me@example.com"),))
    stored = [StoredEvent("c_forms", n, e.kind, e.data, 0.0, e.client_id) for n, e in enumerate(h.log, start=1)]
    replayed = Conversation.replay("c_forms", stored)
    assert replayed.form == h.conversation.form
    assert replayed.raw_slots == h.conversation.raw_slots


def test_an_agent_claim_ends_the_form(kb: KnowledgeBase) -> None:
    h = Harness(kb)
    h.say("where is my order?", "order_status")
    events = h.conversation.claim(Agent("sam", "Sam"))
    assert events[0].kind == FORM and events[0].data["status"] == "handed_off"
    assert not h.conversation.form.active


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("yes", "affirm"),
        ("Yes please!", "affirm"),
        ("yep.", "affirm"),
        ("no", "deny"),
        ("Nope", "deny"),
        ("no, it's PC-123456", None),
        ("maybe", None),
    ],
)
def test_plain_yes_and_no(text: str, answer: str | None) -> None:
    assert yes_or_no(text) == answer


@pytest.mark.parametrize(
    ("text", "stop"),
    [
        ("stop", True),
        ("Never mind.", True),
        ("cancel", True),
        ("cancel my order", False),
        ("forget it", True),
        ("stop sign", False),
    ],
)
def test_stop_phrases(text: str, stop: bool) -> None:
    assert is_stop(text) is stop


def test_a_rasa_payload_typed_as_text_gives_its_intent_and_values(kb: KnowledgeBase) -> None:
    h = Harness(kb)
    h.say("raise a ticket", "open_ticket")
    h.say("me@example.com", None, entities=(("email", "me@example.com"),))
    assert asks(h.say('/inform{"topic": "delivery"}', None)) == ["description"]
    assert h.conversation.raw_slots["topic"] == "delivery"
    h.say("it broke", None)
    h.say("/deny", None)
    assert h.conversation.raw_slots["urgent"] is False


def test_a_forms_own_stop_question_leaves_on_its_answer(kb: KnowledgeBase) -> None:
    """Rasa's "do you want to continue?": no leaves the form, with the form's own message."""
    form = kb.forms["order_lookup"]
    stop = StopQuestion(ask="ask_continue", leave_on="deny", stopped="lookup_stopped", intents=("shipping",))
    object.__setattr__(form, "stop", stop)
    templates = dict(kb.templates)
    kb.templates["ask_continue"] = (Template("Do you want to continue?"),)
    kb.templates["lookup_stopped"] = (Template("OK, no lookup then."),)
    try:
        h = Harness(kb)
        h.say("where is my order?", "order_status")
        asked = h.say("how much is delivery?", "shipping")  # the form names this intent as a stop request
        assert replies(asked) == ["Do you want to continue?"]
        assert [b["title"] for b in asked[-1].data["buttons"]] == ["Yes", "No"]
        assert asks(h.say("yes", None)) == ["order_id"]  # yes: carry on
        h.say("stop", None)
        assert replies(h.say("no", None)) == ["OK, no lookup then."]
        assert not h.conversation.form.active
    finally:
        object.__setattr__(form, "stop", None)
        kb.templates.clear()
        kb.templates.update(templates)


def test_a_validate_action_that_asks_the_same_slot_again_leaves_room_for_an_interruption(kb: KnowledgeBase) -> None:
    """A FormValidationAction overriding required_slots names the next slot on every turn: the same
    slot again means nothing was answered, so a question is still an interruption."""
    form = kb.forms["order_lookup"]
    object.__setattr__(form, "validate", "validate_order_lookup")
    try:
        h = Harness(kb)
        same = {"validate_order_lookup": ActionOutcome("validate_order_lookup", requested_slot=("order_id",))}
        h.say("where is my order?", "order_status", outcomes=same)
        events = h.say("how much is delivery?", "shipping", outcomes=same)
        assert replies(events) == ["Delivery costs 4.95.", "What's your order number?"]
    finally:
        object.__setattr__(form, "validate", None)


def test_at_the_confirmation_a_person_can_be_asked_for(kb: KnowledgeBase) -> None:
    h = Harness(kb)
    h.say("raise a ticket", "open_ticket")
    h.say("me@example.com", None, entities=(("email", "me@example.com"),))
    h.say("An order", None)
    h.say("it broke", None)
    h.say("no", None)
    assert h.conversation.form.pending == "confirm"
    events = h.say("let me talk to someone", "talk_to_human")
    handoff = next(e for e in events if e.kind == HANDOFF)
    assert handoff.data["reason"] == "explicit_request" and handoff.data["collected"]["description"] == "it broke"


def test_the_same_task_again_asks_its_answers_again_but_keeps_what_was_found(kb: KnowledgeBase) -> None:
    h = Harness(kb)
    h.say("raise a ticket", "open_ticket")
    h.say("me@example.com", None, entities=(("email", "me@example.com"),))
    h.say("An order", None)
    h.say("it broke", None)
    h.say("no", None)
    silent = ActionOutcome("action_open_ticket", slots={"ticket_id": "TK-2"})  # says nothing itself
    done = h.say("yes", None, outcomes={"action_open_ticket": silent})
    assert replies(done) == [SYSTEM_DEFAULTS["form_done"]]  # never a turn without a reply
    assert "description" not in h.conversation.slots and h.conversation.slots["email"] == "me@example.com"
    assert asks(h.say("raise a ticket", "open_ticket")) == ["topic"]


def test_payload_values_fill_only_entity_and_button_slots(kb: KnowledgeBase) -> None:
    h = Harness(kb)
    h.say("raise a ticket", "open_ticket")
    h.say('/inform{"email": "a@b.co", "description": "sneaked in"}', None)
    assert h.conversation.raw_slots.get("email") == "a@b.co"
    assert "description" not in h.conversation.raw_slots
