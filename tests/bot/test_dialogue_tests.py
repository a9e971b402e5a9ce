"""``deskmate test``: both file formats, the checks on hand-made events, the runner on a twin and on the demo."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from bot.cli.main import main
from bot.cli.testing import find_or_build, run_files
from bot.core.events import BOT_REPLY, CUSTOMER_MESSAGE, NewEvent, StoredEvent
from bot.dialogue_tests import (
    ConversationFileError,
    Expect,
    ExpectedReply,
    check,
    load_tests,
    observe,
    run_tests,
    text_report,
)
from bot.dialogue_tests.model import ANY_VALUE, UNCHECKED
from bot.errors import ConversationError
from bot.ops.config import DEMO_KB, Settings
from bot.service.chat import Session
from bot.storage.store import InMemoryStore

DEMO_TESTS = DEMO_KB / "tests"  # conversations.yml, and forms.yml with every path of the demo's forms


def write(tmp_path: Path, text: str, name: str = "t.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def issues_of(*paths: Path) -> list[str]:
    with pytest.raises(ConversationFileError) as caught:
        load_tests(list(paths))
    return [str(issue) for issue in caught.value.issues]


# The Deskmate format -------------------------------------------------------------------------

DESKMATE = """
conversations:
  - name: order status with the number in a later message
    steps:
      - user: where is my order?
        intent: order_status          # the predicted intent
        form: order_lookup
        asks: order_id
      - user: PC-483920
        slots: {order_id: PC-483920, order_status: null}
        action: action_order_status
        form: null
      - user: how much is delivery?
        response: shipping_cost
        text: "£4.95"
      - button: Track an order
      - user: can I talk to a person
        handoff: explicit_request
  - name: clarify
    steps:
      - user: order
        clarify: [order_status]
        handoff: false
        text: [Did you mean, one of these]
"""


def test_the_deskmate_format_reads_every_expectation(tmp_path: Path) -> None:
    path = write(tmp_path, DESKMATE)

    first, second = load_tests([path])

    assert first.name == "order status with the number in a later message" and first.format == "deskmate"
    assert str(first.where) == f"{path}:2" and [s.where.line for s in first.steps] == [4, 8, 12, 15, 16]
    ask, number, cost, button, human = first.steps
    assert (
        ask.text == "where is my order?" and ask.expect.intent == "order_status" and ask.expect.form == "order_lookup"
    )
    assert ask.expect.replies == (ExpectedReply("asks order_id", asks=frozenset({"order_id"})),)
    assert number.expect.slots == {"order_id": "PC-483920", "order_status": None} and number.expect.form is None
    assert number.expect.replies[0].action == "action_order_status"
    assert cost.expect.replies[0].responses == {"shipping_cost"} and cost.expect.texts == ("£4.95",)
    assert cost.expect.form is UNCHECKED and not cost.expect.ordered
    assert button.button == "Track an order" and button.text is None and button.expect == Expect()
    assert human.expect.handoff == "explicit_request"
    assert second.steps[0].expect.clarify == ("order_status",) and second.steps[0].expect.handoff is False
    assert second.steps[0].expect.texts == ("Did you mean", "one of these")


def test_deskmate_format_errors_name_the_file_line_and_fix(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        conversations:
          - name: broken
            steps:
              - user: hi
                intnet: greet
              - user: yes
              - user: hello
                button: Track an order
              - button: Go
                handoff: maybe
                slots: [order_id]
          - steps:
              - user: hi
        """,
    )

    issues = issues_of(path)

    assert any(i.startswith(f"{path}:5: unknown key `intnet`") for i in issues)
    assert any(i.startswith(f"{path}:6: `user:` must be text, not `true`") and "quotes" in i for i in issues)
    assert any(i.startswith(f"{path}:7: this step has both `user:` and `button:`") for i in issues)
    assert any(i.startswith(f"{path}:10: `handoff:` must be true, false or a reason") for i in issues)
    assert any(i.startswith(f"{path}:11: `slots:` must be a mapping") for i in issues)
    assert any(i.startswith(f"{path}:12: this conversation has no `name:`") for i in issues)


def test_files_of_neither_format_or_bad_yaml_are_refused(tmp_path: Path) -> None:
    other = write(tmp_path, "nlu:\n  - intent: greet\n", "nlu.yml")
    broken = write(tmp_path, "conversations:\n  - name: [\n", "broken.yml")

    issues = issues_of(other, broken, tmp_path / "missing.yml")

    assert any(i.startswith(f"{other}:1: not a conversation test file") and "`stories:`" in i for i in issues)
    assert any(i.startswith(f"{broken}:") and "invalid YAML" in i for i in issues)
    assert any(i.startswith(f"{tmp_path / 'missing.yml'}: no such file") for i in issues)


def test_a_folder_means_its_yaml_files(tmp_path: Path) -> None:
    write(tmp_path, "conversations:\n  - name: a\n    steps:\n      - user: hi\n", "a.yml")
    write(tmp_path, "stories:\n  - story: b\n    steps:\n      - user: hi\n", "b.yaml")
    (tmp_path / "notes.txt").write_text("not a test", encoding="utf-8")

    assert [t.name for t in load_tests([tmp_path])] == ["a", "b"]


# Rasa test stories ---------------------------------------------------------------------------

RASA = """
version: "3.1"
stories:
  - story: order status through the form
    steps:
      - action: action_session_start
      - user: |
          where is my order?
        intent: order_status
      - action: order_lookup
      - active_loop: order_lookup
      - action: utter_ask_order_id
      - user: |
          it's [PC-483920](order_id)
      - action: order_lookup
      - slot_was_set:
          - order_id
          - order_status: out_for_delivery
      - active_loop: null
      - action: action_order_status
      - action: action_listen
      - user: thanks
        intent: faq/Say-Thanks
      - action: utter_thanks
      - bot: You're welcome
      - action: action_restart
      - user: what?
      - action: action_default_fallback
"""


def test_rasa_stories_become_turns_with_ordered_expectations(tmp_path: Path) -> None:
    path = write(tmp_path, RASA, "test_stories.yml")

    (story,) = load_tests([path])

    assert story.name == "order status through the form" and story.format == "rasa"
    ask, number, thanks, what = story.steps
    assert ask.text == "where is my order?" and ask.where.line == 6 and ask.expect.intent == "order_status"
    assert ask.expect.ordered and [r.label for r in ask.expect.replies] == ["order_lookup", "utter_ask_order_id"]
    assert ask.expect.replies[0].action == "order_lookup" == ask.expect.replies[0].form
    assert ask.expect.replies[1].asks == {"order_id"} and "ask_order_id" in ask.expect.replies[1].responses
    assert ask.expect.form == "order_lookup"
    assert number.text == "it's PC-483920"  # the markup stripped
    assert number.expect.slots == {"order_id": "PC-483920", "order_status": "out_for_delivery"}
    assert number.expect.form is None and [r.label for r in number.expect.replies][-1] == "action_order_status"
    assert thanks.expect.intent == "faq_say_thanks" and thanks.expect.texts == ("You're welcome",)
    assert thanks.expect.replies[0].responses >= {"thanks", "utter_thanks"} and thanks.restart
    assert what.expect.replies[0].fallback and not what.restart


def test_a_bare_slot_was_set_without_an_annotation_expects_any_value(tmp_path: Path) -> None:
    path = write(tmp_path, "stories:\n  - story: s\n    steps:\n      - user: hi\n      - slot_was_set: [name]\n")

    (story,) = load_tests([path])

    assert story.steps[0].expect.slots == {"name": ANY_VALUE}


def test_unsupported_rasa_constructs_are_errors_with_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        stories:
          - story: with checkpoint
            steps:
              - checkpoint: start
              - user: hi
              - or:
                  - intent: affirm
                  - intent: thankyou
          - story: training story
            steps:
              - intent: greet
              - action: utter_greet
          - story: other
            steps:
              - user: "[PC-1(order_id)"
              - action: action_back
              - user: /greet
        rules:
          - rule: r
        """,
        "test_bad.yml",
    )

    issues = issues_of(path)

    assert any(i.startswith(f"{path}:4: checkpoints are not supported") for i in issues)
    assert any(i.startswith(f"{path}:6: `or` is not supported") for i in issues)
    assert any(i.startswith(f"{path}:11: an `intent:` step without `user:` is a training story") for i in issues)
    assert any(i.startswith(f"{path}:12: `action:` comes before the first `user:` step") for i in issues)
    assert any(i.startswith(f"{path}:15: ") and "never closed" in i for i in issues)
    assert any(i.startswith(f"{path}:16: Rasa's `action_back` has no Deskmate equivalent") for i in issues)
    assert not any(f"{path}:17:" in i for i in issues)  # a button payload is sent as written, as Rasa reads it
    assert any(i.startswith(f"{path}:18: `rules:` cannot be played as tests") for i in issues)


# Matching on hand-made events ----------------------------------------------------------------


class Events:
    """StoredEvents numbered in order, as a store would."""

    def __init__(self) -> None:
        self.seq = 0

    def __call__(self, kind: str, **data: Any) -> StoredEvent:
        self.seq += 1
        return StoredEvent("c1", self.seq, kind, data, 0.0)


def ranking(*intents: str) -> list[dict[str, Any]]:
    return [{"intent": name, "p": round(0.9 - 0.2 * i, 2)} for i, name in enumerate(intents)]


def test_observe_reads_intent_replies_slots_and_form() -> None:
    ev = Events()
    history = [ev("bot_reply", text="Hi", source="system"), ev("slot_set", slot="email", value="a@b.example")]
    turn = [
        ev("customer_message", text="where is my order?"),
        ev("slot_set", slot="email", value=None, source="form"),
        ev("form", form="order_lookup", requested_slot="order_id", status="started", failures=0, pending=None),
        ev(
            "bot_reply",
            text="What's your order number?",
            source="form",
            response="ask_order_id",
            form="order_lookup",
            asks="order_id",
            intent="order_status",
            ranking=ranking("order_status", "wrong_item"),
        ),
    ]

    observed = observe(history, turn)

    assert observed.intent == "order_status" and observed.confidence == 0.9
    assert observed.slots == {} and observed.form == "order_lookup"
    assert [item.kind for item in observed.replies] == ["form", "bot_reply"]
    assert observed.replies[1].describe() == (
        'form response ask_order_id form order_lookup asks order_id "What\'s your order number?"'
    )
    assert observe(history, turn, chosen_intent="refund_status").intent == "refund_status"


def test_a_completed_form_is_no_longer_active_and_slots_replay() -> None:
    ev = Events()
    history = [ev("form", form="order_lookup", requested_slot="order_id", status="asking")]
    turn = [
        ev("customer_message", text="PC-483920"),
        ev("slot_set", slot="order_id", value="PC-483920", source="form"),
        ev("form", form="order_lookup", requested_slot=None, status="completed"),
        ev("slot_set", slot="order_status", value="delivered", source="action:action_order_status"),
        ev("bot_reply", text="Delivered.", source="action", action="action_order_status", form="order_lookup"),
    ]

    observed = observe(history, turn)

    assert observed.form is None and observed.slots == {"order_id": "PC-483920", "order_status": "delivered"}
    expect = Expect(
        replies=(
            ExpectedReply("order_lookup", action="order_lookup", form="order_lookup"),
            ExpectedReply("action_order_status", action="action_order_status", form="action_order_status"),
        ),
        ordered=True,
        slots={"order_id": "PC-483920", "order_status": ANY_VALUE, "ticket": None},
        form=None,
    )
    assert check(expect, observed) == []


def test_check_reports_each_expectation_that_failed() -> None:
    ev = Events()
    turn = [
        ev("customer_message", text="how much is delivery?"),
        ev(
            "bot_reply",
            text="Next-day delivery costs £6.95.",
            source="template",
            intent="delivery_time",  # an older event without `response`: the template is named after its intent
            ranking=ranking("delivery_time", "shipping_cost"),
        ),
    ]
    observed = observe([], turn)
    expect = Expect(
        intent="shipping_cost",
        replies=(ExpectedReply("response shipping_cost", responses=frozenset({"shipping_cost"})),),
        texts=("£4.95", "NEXT-DAY"),
        slots={"order_id": "PC-483920"},
        form="order_lookup",
        handoff=True,
        clarify=True,
    )

    failures = check(expect, observed)

    assert failures == [
        "intent: expected shipping_cost, got delivery_time",
        "reply: expected response shipping_cost, none this turn",
        "text: no bot message contains '£4.95'",
        "slot order_id: expected 'PC-483920', got unset",
        "form: expected order_lookup, got none active",
        "handoff: expected one, got none",
        "clarify: expected a clarification, got none",
    ]
    assert observed.items[0].response == "delivery_time"
    assert check(Expect(replies=(ExpectedReply("r", responses=frozenset({"delivery_time"})),)), observed) == []


def test_replies_in_order_handoffs_clarifications_and_failed_actions() -> None:
    ev = Events()
    turn = [
        ev("customer_message", text="where is it"),
        ev(
            "bot_reply",
            text="Sorry, the lookup failed.",
            source="template",
            response="order_status",
            action="action_order_status",
            action_error="timed out",
            ranking=ranking("order_status"),
        ),
        ev("clarify", text="Did you mean?", options=[{"intent": "order_status", "label": "Track an order"}]),
        ev("handoff", text="Passing you on.", reason="low_confidence"),
    ]
    observed = observe([], turn)
    greet = ExpectedReply("utter_greet", responses=frozenset({"greet"}))
    status = ExpectedReply("utter_order_status", responses=frozenset({"order_status"}))
    fallback = ExpectedReply("action_default_fallback", fallback=True)
    action = ExpectedReply("action_order_status", action="action_order_status")

    assert check(Expect(replies=(status, fallback), ordered=True), observed) == []
    assert check(Expect(replies=(fallback, status), ordered=True), observed) == [
        "reply: expected utter_order_status after action_default_fallback, none this turn in that order"
    ]
    assert check(Expect(replies=(greet, action)), observed) == [
        "reply: expected utter_greet, none this turn",
        "reply: expected action_order_status, none this turn",  # it failed: the template answered
    ]
    assert check(Expect(handoff="low_confidence", clarify=("order_status",)), observed) == []
    assert check(Expect(handoff="explicit_request", clarify=False), observed) == [
        "handoff: expected one for explicit_request, got one for low_confidence",
        "clarify: expected none, got one offering order_status",
    ]
    assert check(Expect(handoff=False), observed) == ["handoff: expected none, got one (low_confidence)"]


def test_form_questions_match_rasa_ask_names() -> None:
    ev = Events()
    turn = [
        ev("customer_message", text="I want to open a ticket"),
        ev("form", form="ticket", requested_slot="email", status="started"),
        ev("bot_reply", text="Your email?", source="form", form="ticket", asks="email", response="ask_ticket_email"),
    ]
    observed = observe([], turn)
    utter_ask = ExpectedReply(
        "utter_ask_ticket_email", responses=frozenset({"ask_ticket_email"}), asks=frozenset({"ticket_email"})
    )
    by_slot = ExpectedReply("utter_ask_email", asks=frozenset({"email"}))

    assert (
        check(
            Expect(replies=(ExpectedReply("ticket", action="ticket", form="ticket"), utter_ask), ordered=True), observed
        )
        == []
    )
    assert check(Expect(replies=(by_slot,)), observed) == []
    assert observed.form == "ticket"


# The runner on a twin ------------------------------------------------------------------------


class ScriptedChat:
    """The chat service's three calls over a real in-memory store; the bot's events come from a script."""

    def __init__(self, script: dict[str, list[NewEvent]], *, fail_on: str | None = None) -> None:
        self.store = InMemoryStore()
        self.script = script
        self.fail_on = fail_on
        self.sent: list[tuple[str, str, str | None]] = []
        self.sessions = 0
        self.closed = False

    async def open_session(self, token: str | None) -> Session:
        self.sessions += 1
        conversation = await self.store.create_conversation(f"token-{self.sessions}")
        await self.store.append(conversation, [NewEvent(BOT_REPLY, {"text": "Hi!", "source": "system"})])
        return Session(f"token-{self.sessions}", conversation, "BOT")

    async def customer_message(
        self, conversation_id: str, *, client_id: str, text: str, intent: str | None = None
    ) -> tuple[bool, list[StoredEvent]]:
        self.sent.append((conversation_id, text, intent))
        if text == self.fail_on:
            raise ConversationError("conversation is closed; start a new conversation")
        message = NewEvent(CUSTOMER_MESSAGE, {"text": text}, client_id=client_id)
        return False, await self.store.append(conversation_id, [message, *self.script.get(text, [])])

    async def close(self) -> None:
        self.closed = True


def reply(text: str, intent: str, **data: Any) -> NewEvent:
    return NewEvent(
        BOT_REPLY, {"text": text, "source": "template", "intent": intent, "ranking": ranking(intent), **data}
    )


SCRIPT = {
    "returns?": [
        reply("30 days.", "return_item", buttons=[{"title": "When do I get my refund?", "intent": "refund_status"}])
    ],
    "When do I get my refund?": [reply("5-7 days.", "refund_status")],
    "order": [
        NewEvent(
            "clarify",
            {
                "text": "Did you mean?",
                "options": [{"intent": "order_status", "label": "Track an order"}],
                "ranking": ranking("order_status"),
            },
        )
    ],
    "Track an order": [reply("Tracking is under Account.", "order_status")],
}


async def test_buttons_are_clicked_by_title_and_missing_ones_fail(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        conversations:
          - name: buttons
            steps:
              - user: returns?
              - button: when do I get my refund?
                intent: refund_status
                text: 5-7 days
              - button: It arrived damaged
              - user: order
                clarify: [order_status]
              - button: Track an order
                response: order_status
        """,
    )
    chats: list[ScriptedChat] = []

    def make() -> ScriptedChat:
        chats.append(ScriptedChat(SCRIPT))
        return chats[-1]

    result = await run_tests(load_tests([path]), make)

    (conversation,) = result.conversations
    assert [s.passed for s in conversation.steps] == [True, True, False, True, True]
    assert [(text, intent) for _, text, intent in chats[0].sent] == [
        ("returns?", None),
        ("When do I get my refund?", "refund_status"),
        ("It arrived damaged", None),
        ("order", None),
        ("Track an order", "order_status"),
    ]
    assert conversation.steps[2].failures == (
        "button: no button 'It arrived damaged' in the bot's last answer (buttons: none); sent it as text",
    )
    assert chats[0].closed
    report = text_report(result)
    assert f"FAIL buttons, step 3 ({path}:8)" in report
    assert report.endswith("1 conversation, 5 steps: 1 failed")


async def test_a_restart_opens_a_fresh_session_and_a_failed_turn_ends_the_conversation(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        stories:
          - story: restart
            steps:
              - user: returns?
              - action: action_restart
              - user: returns?
              - user: closed
              - user: never sent
        """,
    )
    chat = ScriptedChat(SCRIPT, fail_on="closed")

    result = await run_tests(load_tests([path]), lambda: chat)

    steps = result.conversations[0].steps
    assert chat.sessions == 2 and chat.sent[0][0] != chat.sent[1][0] == chat.sent[2][0]
    assert [s.passed for s in steps] == [True, True, False, False]
    assert steps[2].failures == ("the turn failed: conversation is closed; start a new conversation",)
    assert steps[3].failures == ("not played: step 3 failed",) and len(chat.sent) == 3


# The CLI -------------------------------------------------------------------------------------


def test_a_malformed_file_exits_with_2_before_any_model_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "conversations:\n  - name: x\n    steps:\n      - usr: hi\n")

    assert main(["test", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:4: unknown key `usr`" in err


def test_a_build_is_found_by_folder_or_id(tmp_path: Path, demo_build: Any, embedder: Any) -> None:
    settings = Settings(data_dir=tmp_path)

    assert find_or_build(settings, embedder, build=str(demo_build.path)).id == demo_build.id
    assert find_or_build(settings, embedder, build=demo_build.id, builds=demo_build.path.parent).id == demo_build.id
    from bot.errors import BuildNotFoundError

    with pytest.raises(BuildNotFoundError, match="no build 'nope'"):
        find_or_build(settings, embedder, build="nope")
    with pytest.raises(BuildNotFoundError, match="not a KB build"):
        find_or_build(settings, embedder, build=str(tmp_path))


def test_the_demo_tests_file_reads() -> None:
    tests = load_tests([DEMO_TESTS])

    assert len(tests) >= 4 and all(t.format == "deskmate" for t in tests)


# A real run on the demo build ----------------------------------------------------------------

REAL = """
conversations:
  - name: greeting, an answer and a handoff
    steps:
      - user: hi there
        intent: greet
        response: greet
        handoff: false
      - user: how much is delivery?
        intent: shipping_cost
        response: shipping_cost
        text: delivery
        form: null
      - user: can I talk to a person please
        intent: talk_to_human
        handoff: explicit_request
"""

WRONG = """
conversations:
  - name: a wrong expectation
    steps:
      - user: how much is delivery?
        intent: refund_status
        response: refund_status
"""


async def test_demo_conversations_pass_on_the_demo_build(
    tmp_path: Path, demo_brain: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.json"

    code = await run_files([write(tmp_path, REAL)], demo_brain, out=out)

    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "1 conversation, 3 steps: 0 failed" in printed
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["passed"] and report["build"] == demo_brain.build_id
    steps = report["conversations"][0]["steps"]
    assert [s["passed"] for s in steps] == [True, True, True]
    assert steps[1]["actual"]["replies"][0]["response"] == "shipping_cost"
    assert steps[1]["expected"] == {
        "intent": "shipping_cost",
        "replies_any_order": ["response shipping_cost"],
        "text": ["delivery"],
        "form": None,
    }


async def test_a_failing_step_exits_with_1_and_says_what_happened(
    tmp_path: Path, demo_brain: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, WRONG)
    out = tmp_path / "report.json"

    code = await run_files([path], demo_brain, out=out)

    printed = capsys.readouterr().out
    assert code == 1
    assert f"FAIL a wrong expectation, step 1 ({path}:4)" in printed
    assert "- intent: expected refund_status, got shipping_cost" in printed
    assert "- reply: expected response refund_status, none this turn" in printed
    assert "actual:   intent shipping_cost" in printed and "response shipping_cost" in printed
    assert printed.rstrip().endswith(f"report: {out}") and "1 conversation, 1 step: 1 failed" in printed
    report = json.loads(out.read_text(encoding="utf-8"))
    assert not report["passed"] and report["summary"]["failed_steps"] == 1
    assert report["conversations"][0]["steps"][0]["failures"][0] == "intent: expected refund_status, got shipping_cost"


async def test_the_demo_kb_tests_pass(
    demo_brain: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.actions import InProcessActionRunner

    monkeypatch.setenv("DESKMATE_DB_PATH", str(tmp_path / "tickets.sqlite3"))  # the ticket form writes one
    actions = InProcessActionRunner("kb.demo.actions")
    try:
        code = await run_files([DEMO_TESTS], demo_brain, actions=actions)
    finally:
        await actions.close()

    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "0 failed" in printed and "17 conversations" in printed
