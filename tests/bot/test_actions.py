"""bot.actions and the demo actions: in-process, over a real action server, and their failures."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

import pytest
from rasa_sdk import Tracker

from bot.actions import (
    ActionCall,
    ActionError,
    ActionResult,
    InProcessActionRunner,
    RemoteActionRunner,
    ScriptedActionRunner,
    Turn,
    build_domain,
    build_tracker,
    followup,
    latest_message,
    messages,
    paused,
    run_chain,
    slot_updates,
)
from kb.demo import actions as demo_actions
from tests.fixtures import slow_actions

ROOT = Path(__file__).resolve().parents[2]
DEMO = "kb.demo.actions"
FIXTURES = "tests.fixtures.slow_actions"


def order_call(order_id: str | None, text: str = "where is my order?", name: str = "action_order_status") -> ActionCall:
    return ActionCall.from_turns(
        name,
        "c_test",
        slots={"order_id": order_id},
        latest=latest_message(text, intent="order_status", confidence=0.91),
        turns=[Turn("bot", "Hi, how can I help?"), Turn("customer", "hello", intent="greet", confidence=0.99)],
    )


@pytest.fixture
async def demo() -> AsyncIterator[InProcessActionRunner]:
    runner = InProcessActionRunner(DEMO)
    yield runner
    await runner.close()


@pytest.fixture
async def fixtures() -> AsyncIterator[InProcessActionRunner]:
    runner = InProcessActionRunner(FIXTURES, timeout=0.5)
    yield runner
    await runner.close()


# --- the demo actions, in-process ---------------------------------------------------------------


THURSDAY = date(2026, 12, 10)
MONTHS = [f"{date(2026, m, 1):%B}" for m in range(1, 13)]
DAY = re.compile(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) (\d{1,2}) ([A-Z][a-z]+)(?: (\d{4}))?")


def said_dates(text: str, today: date) -> list[date]:
    """The dates ``text`` names ("Thursday 10 December", year only when not ``today``'s), checked against their weekday."""
    found = []
    for weekday, day, month, year in DAY.findall(text):
        when = date(int(year or today.year), MONTHS.index(month) + 1, int(day))
        assert f"{when:%A}" == weekday, f"{weekday} {day} {month} {year} is a {when:%A}"
        found.append(when)
    return found


async def test_order_status_sets_slots_and_says_where_the_order_is(
    demo: InProcessActionRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_actions, "clock", lambda: THURSDAY)
    result = await demo.run(order_call("pc 483920"))

    assert slot_updates(result) == {
        "order_id": "PC-483920",
        "order_status": "out_for_delivery",
        "order_carrier": "Royal Mail",
        "order_expected_date": "2026-12-10",
    }
    [message] = messages(result)
    assert "PC-483920 is out for delivery with Royal Mail, due on Thursday 10 December." in message["text"]
    assert message["buttons"] == []
    assert not paused(result) and followup(result) is None


@pytest.mark.parametrize(
    ("today", "order_id", "says"),
    [
        (THURSDAY, "PC-123456", "should arrive on Monday 14 December"),  # 2 working days: over the weekend
        (THURSDAY, "PC-201847", "was delivered with Evri on Thursday 3 December"),  # 5 working days ago
        (date(2026, 12, 30), "PC-774411", "should reach you by Tuesday 5 January 2027"),  # next year: the year shown
        (date(2026, 12, 12), "PC-483920", "due on Monday 14 December"),  # a Saturday: couriers come on Monday
    ],
)
async def test_order_dates_are_counted_from_today(
    demo: InProcessActionRunner, monkeypatch: pytest.MonkeyPatch, today: date, order_id: str, says: str
) -> None:
    monkeypatch.setattr(demo_actions, "clock", lambda: today)
    [message] = messages(await demo.run(order_call(order_id)))

    assert says in message["text"]


async def test_no_order_date_is_stale_when_run_today(demo: InProcessActionRunner) -> None:
    today = date.today()
    for order in demo_actions.load_orders().values():
        [message] = messages(await demo.run(order_call(order.order_id)))
        dates = said_dates(message["text"], today)

        assert len(dates) == (order.delivery_in_working_days is not None), message["text"]
        for when in dates:  # within three weeks of today: never a year-old date
            if order.status == "delivered":
                assert 0 < (today - when).days <= 21, message["text"]
            else:
                assert 0 <= (when - today).days <= 21, message["text"]


async def test_order_status_unknown_order_clears_the_slot(demo: InProcessActionRunner) -> None:
    result = await demo.run(order_call("PC-999999"))

    assert slot_updates(result) == {"order_id": None, "order_status": None}
    [message] = messages(result)
    assert "couldn't find an order with the number PC-999999" in message["text"]


async def test_order_status_without_an_order_number_asks_for_it(demo: InProcessActionRunner) -> None:
    result = await demo.run(order_call(None))

    assert result.events == []
    [message] = messages(result)
    assert "What's your order number?" in message["text"]


async def test_order_status_finds_the_number_in_the_message_text(demo: InProcessActionRunner) -> None:
    result = await demo.run(order_call(None, text="any news on order PC-402216?"))

    assert slot_updates(result)["order_status"] == "cancelled"


async def test_open_ticket_stores_a_row(
    demo: InProcessActionRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "data" / "deskmate.sqlite3"
    monkeypatch.setenv("DESKMATE_DB_PATH", str(db))
    call = order_call("PC-201847", text="my boots never arrived", name="action_open_ticket")

    first = await demo.run(call)
    second = await demo.run(call)

    assert slot_updates(first) == {"ticket_id": "TK-000001"}
    assert slot_updates(second) == {"ticket_id": "TK-000002"}
    assert "TK-000001" in messages(first)[0]["text"]
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT number, conversation_id, message, intent, order_id, status FROM tickets").fetchall()
    assert rows[0] == ("TK-000001", "c_test", "my boots never arrived", "order_status", "PC-201847", "open")
    assert len(rows) == 2


async def test_talk_to_human_pauses(demo: InProcessActionRunner) -> None:
    result = await demo.run(order_call(None, name="action_talk_to_human"))

    assert paused(result)
    assert messages(result) == []


async def test_in_process_runs_concurrently_while_a_slow_action_waits(fixtures: InProcessActionRunner) -> None:
    demo = InProcessActionRunner(DEMO)
    try:
        slow = asyncio.ensure_future(fixtures.run(order_call(None, name="action_slow")))
        results = await asyncio.gather(*(demo.run(order_call(f"PC-{n}")) for n in ("123456", "774411", "930417")))
        assert [slot_updates(r)["order_status"] for r in results] == ["in_transit", "processing", "in_transit"]
        with pytest.raises(ActionError, match="did not finish"):
            await slow
    finally:
        await demo.close()


async def test_in_process_runner_serves_only_its_package(demo: InProcessActionRunner) -> None:
    assert slow_actions.ActionSlow  # imported in this process, yet not served by the demo runner
    assert demo.actions == [
        "action_open_ticket",
        "action_order_status",
        "action_request_return",
        "action_talk_to_human",
        "validate_order_lookup",
        "validate_return_request",
    ]

    with pytest.raises(ActionError) as caught:
        await demo.run(order_call(None, name="action_slow"))
    assert caught.value.reason == "not_found"
    assert "no action named `action_slow` in package `kb.demo.actions`" in str(caught.value)
    assert "action_order_status" in str(caught.value)


# --- failures and chains, in-process ------------------------------------------------------------


async def test_slow_action_times_out(fixtures: InProcessActionRunner) -> None:
    started = time.monotonic()
    with pytest.raises(ActionError) as caught:
        await fixtures.run(order_call(None, name="action_slow"))

    assert time.monotonic() - started < 5
    assert caught.value.reason == "timeout"
    assert caught.value.action == "action_slow"
    assert "did not finish within 0.5 s" in str(caught.value)


async def test_exception_inside_an_action_becomes_action_error(fixtures: InProcessActionRunner) -> None:
    with pytest.raises(ActionError) as caught:
        await fixtures.run(order_call(None, name="action_boom"))

    assert caught.value.reason == "failed"
    assert "raised ValueError: the orders API is down" in str(caught.value)
    assert isinstance(caught.value.__cause__, ValueError)


def test_unimportable_package_says_what_to_check() -> None:
    with pytest.raises(ActionError) as caught:
        InProcessActionRunner("tests.fixtures.no_such_actions")

    assert caught.value.reason == "import"
    assert "python -c 'import tests.fixtures.no_such_actions'" in str(caught.value)


async def test_followup_chain_runs_each_step_on_the_state_the_last_left(fixtures: InProcessActionRunner) -> None:
    call = ActionCall.from_turns("action_chain_start", "c_chain", slots={"color": "green"}, latest=latest_message("go"))

    result = await run_chain(fixtures, call)

    assert result.steps == ("action_chain_start", "action_chain_next")
    assert result.stop_reason == "done" and result.pending is None
    assert followup(result) is None  # the followed FollowupAction is consumed
    assert slot_updates(result) == {"step": 2, "seen_by_start": "green", "bot_said": ["step one"]}
    assert [m["text"] for m in messages(result)] == ["step one", "step two after action_chain_start, step=1"]


async def test_followup_loop_is_stopped(fixtures: InProcessActionRunner) -> None:
    result = await run_chain(fixtures, order_call(None, name="action_ping"), max_steps=10)

    assert result.steps == ("action_ping", "action_pong")
    assert result.stop_reason == "loop"
    assert result.pending == "action_ping" == followup(result)
    assert [m["text"] for m in messages(result)] == ["ping", "pong"]


async def test_chain_stops_after_max_steps(fixtures: InProcessActionRunner) -> None:
    result = await run_chain(fixtures, order_call(None, name="action_ping"), max_steps=1)

    assert result.steps == ("action_ping",)
    assert (result.stop_reason, result.pending) == ("max_steps", "action_pong")


async def test_pause_ends_the_chain(fixtures: InProcessActionRunner) -> None:
    result = await run_chain(fixtures, order_call(None, name="action_pause_then_more"))

    assert result.steps == ("action_pause_then_more",)
    assert paused(result) and result.stop_reason == "paused"


async def test_scripted_runner_is_a_drop_in_twin() -> None:
    runner = ScriptedActionRunner({"action_a": ActionResult(events=[{"event": "slot", "name": "x", "value": 1}])})

    result = await run_chain(runner, order_call(None, name="action_a"))

    assert slot_updates(result) == {"x": 1}
    assert [c.name for c in runner.calls] == ["action_a"]
    with pytest.raises(ActionError, match="no scripted result for action `action_b`"):
        await runner.run(order_call(None, name="action_b"))


# --- value helpers and the tracker -------------------------------------------------------------


def test_slot_updates_pause_and_followup_read_events_in_order() -> None:
    result = ActionResult(
        events=[
            {"event": "slot", "name": "a", "value": 1},
            {"event": "reset_slots"},
            {"event": "slot", "name": "b", "value": 2},
            {"event": "pause"},
            {"event": "resume"},
            {"event": "followup", "name": "action_x"},
        ]
    )

    assert slot_updates(result) == {"b": 2}
    assert slot_updates(result, current={"a": 0, "c": 3}) == {"a": None, "c": None, "b": 2}
    assert not paused(result)
    assert followup(result) == "action_x"


def test_messages_render_named_responses_from_the_domain() -> None:
    result = ActionResult(
        responses=[
            {"text": None, "response": "utter_ticket", "buttons": [], "ticket": "TK-000007"},
            {"text": "Pick one", "buttons": [{"title": "Yes", "payload": "/affirm"}]},
            {"text": None, "buttons": [], "image": None},
        ]
    )
    domain = build_domain(responses={"utter_ticket": ["Ticket {ticket} for {name}"]})

    out = messages(result, domain=domain, slots={"name": "Sam"})

    assert out == [
        {"text": "Ticket TK-000007 for Sam", "buttons": []},
        {"text": "Pick one", "buttons": [{"title": "Yes", "payload": "/affirm"}]},
    ]


def test_tracker_built_from_turns_reads_back_in_rasa_sdk() -> None:
    state = build_tracker(
        "c_42",
        slots={"order_id": "PC-123456"},
        latest=latest_message(
            "where is it?",
            intent="order_status",
            confidence=0.8,
            entities=[{"entity": "order_id", "value": "PC-123456"}],
        ),
        turns=[Turn("customer", "hi", intent="greet", confidence=0.9), Turn("agent", "Hello, Sam here")],
    )

    tracker = Tracker.from_dict(state)  # type: ignore[arg-type]

    assert tracker.sender_id == "c_42"
    assert tracker.get_slot("order_id") == "PC-123456"
    assert tracker.get_intent_of_latest_message() == "order_status"
    assert list(tracker.get_latest_entity_values("order_id")) == ["PC-123456"]
    assert tracker.latest_action_name == "action_listen"
    assert not tracker.is_paused()
    assert [e["event"] for e in tracker.events] == [
        "action", "session_started", "action", "user", "action", "bot", "action", "user"
    ]  # fmt: skip
    assert tracker.events[5]["metadata"] == {"speaker": "agent"}
    assert tracker.events[-1]["text"] == "where is it?"


def test_payload_is_the_webhook_body() -> None:
    payload = order_call("PC-123456").payload()

    assert set(payload) == {"next_action", "sender_id", "tracker", "domain", "version"}
    assert payload["next_action"] == "action_order_status"
    assert payload["domain"]["actions"] == ["action_order_status"]
    assert set(payload["domain"]["slots"]) == {"order_id"}
    assert json.loads(json.dumps(payload)) == payload


# --- the webhook client against loopback servers -----------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused_says_how_to_start_the_server() -> None:
    port = free_port()
    runner = RemoteActionRunner(f"http://127.0.0.1:{port}", timeout=5)

    with pytest.raises(ActionError) as caught:
        await runner.run(order_call("PC-123456"))

    assert caught.value.reason == "unreachable"
    assert f"cannot reach the action server at http://127.0.0.1:{port}" in str(caught.value)
    assert "python -m rasa_sdk --actions" in str(caught.value)


async def canned_server(status: int, body: bytes, *, delay: float = 0.0) -> asyncio.Server:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        await asyncio.sleep(delay)
        writer.write(
            b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (status, len(body), body)
        )
        await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", 0)


@pytest.mark.parametrize(
    ("status", "body", "reason", "says"),
    [
        (500, b'{"error": "boom", "request_body": {}}', "failed", "failed on the action server at"),
        (200, b"<html>hello</html>", "bad_response", "a body that is not JSON"),
        (200, b'{"events": [{"name": "x"}], "responses": []}', "bad_response", "malformed `events`"),
        (404, b'{"description": "Not Found"}', "http", "give the action server's base URL"),
    ],
)
async def test_bad_answers_become_action_errors(status: int, body: bytes, reason: str, says: str) -> None:
    server = await canned_server(status, body)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(ActionError) as caught:
            await RemoteActionRunner(f"http://127.0.0.1:{port}/", timeout=5).run(order_call("PC-123456"))
    finally:
        server.close()
        await server.wait_closed()

    assert caught.value.reason == reason
    assert says in str(caught.value)


async def test_remote_timeout() -> None:
    server = await canned_server(200, b'{"events": [], "responses": []}', delay=3)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(ActionError) as caught:
            await RemoteActionRunner(f"http://127.0.0.1:{port}", timeout=0.3).run(order_call("PC-123456"))
    finally:
        server.close()
        await server.wait_closed()

    assert caught.value.reason == "timeout"
    assert "got no answer from" in str(caught.value)


# --- a real Rasa action server in a subprocess --------------------------------------------------


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``python -m rasa_sdk --actions kb.demo.actions`` on a free loopback port; yields (url, db path)."""
    tmp = tmp_path_factory.mktemp("action_server")
    db, log = tmp / "deskmate.sqlite3", tmp / "stderr.log"
    port = free_port()
    env = {**os.environ, "SANIC_HOST": "127.0.0.1", "DESKMATE_DB_PATH": str(db), "PYTHONPATH": str(ROOT)}
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rasa_sdk", "--actions", DEMO, "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,  # its own process group: Sanic forks a worker we stop with it
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"the action server exited with code {proc.returncode}; its stderr:\n{log.read_text()[-4000:]}"
                )
            try:
                with urllib.request.urlopen(url + "/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the action server did not answer on {url} within 60 s; its stderr:\n{log.read_text()[-4000:]}"
                )
            time.sleep(0.2)
        yield url, db
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("order_id", ["pc 483920", "PC-999999", None])
async def test_remote_runner_gives_the_in_process_results(
    action_server: tuple[str, Path], demo: InProcessActionRunner, order_id: str | None
) -> None:
    url, _ = action_server
    call = order_call(order_id)

    remote = await RemoteActionRunner(url, timeout=10).run(call)
    local = await demo.run(call)

    assert remote == local
    assert messages(remote)


@pytest.mark.slow
async def test_remote_open_ticket_writes_to_the_servers_database(action_server: tuple[str, Path]) -> None:
    url, db = action_server

    result = await RemoteActionRunner(url).run(
        order_call("PC-123456", text="tent pole snapped", name="action_open_ticket")
    )

    number = slot_updates(result)["ticket_id"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT message FROM tickets WHERE number = ?", (number,)).fetchone() == (
            "tent pole snapped",
        )


@pytest.mark.slow
async def test_remote_chain_and_pause(action_server: tuple[str, Path]) -> None:
    url, _ = action_server

    result = await run_chain(RemoteActionRunner(url), order_call(None, name="action_talk_to_human"))

    assert paused(result) and result.steps == ("action_talk_to_human",)


@pytest.mark.slow
async def test_remote_unknown_action(action_server: tuple[str, Path]) -> None:
    url, _ = action_server

    with pytest.raises(ActionError) as caught:
        await RemoteActionRunner(url).run(order_call(None, name="action_refund_everything"))

    assert caught.value.reason == "not_found"
    assert f"the action server at {url} has no action `action_refund_everything`" in str(caught.value)
    assert "No registered action found" in str(caught.value)
