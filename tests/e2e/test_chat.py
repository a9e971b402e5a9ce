"""End to end: the real server on a loopback port, the really trained demo model, real websockets."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from bot.core.policy import Action, TurnContext
from bot.service.brain import Brain
from bot.service.session_tokens import SessionSigner
from tests.e2e.server import Client, customer, running_server

pytestmark = pytest.mark.slow

# Messages written to sit between two intents of the demo KB; the test uses the first one that
# the trained model really finds ambiguous.
AMBIGUOUS_CANDIDATES = [
    "return or refund?",
    "my order",
    "money back for the return",
    "delivery",
    "the parcel and the refund",
    "payment and discount",
    "account",
    "order problem",
    "I want to send it back and get my money",
    "cancel or change my order",
    "code",
    "card",
    "shipping and returns",
    "voucher or gift card",
    "delivery or tracking",
    "payment or discount code",
    "login or password",
    "size or stock",
    "broken or wrong item",
    "refund or warranty",
    "delivery cost and time",
    "gift card payment",
    "discount on delivery",
    "returns and exchanges",
    "my account and my order",
    "warranty or damaged",
    "address and delivery",
    "card declined discount",
]


async def test_order_question_gets_the_templated_answer(base: str, demo_brain: Brain) -> None:
    async with customer(base) as (client, welcome):
        assert welcome["state"] == "BOT"
        assert [item["role"] for item in welcome["history"]] == ["bot"]  # the greeting
        reply = await client.say("m1", "How much is delivery?")
        assert reply["type"] == "reply"
        assert reply["source"] == "template"
        assert reply["intent"] == "shipping_cost"
        assert reply["text"] in demo_brain.kb.responses["shipping_cost"]
        acks = [f for f in client.seen if f["type"] == "ack"]
        assert acks == [{"type": "ack", "id": "m1"}]
        assert client.seen.index(acks[0]) < client.seen.index(reply)


async def test_asking_for_a_person_hands_off_and_the_bot_goes_quiet(base: str) -> None:
    async with customer(base) as (client, _):
        handoff = await client.say("m1", "I want to talk to a real person")
        assert handoff["type"] == "handoff"
        assert handoff["reason"] == "explicit_request"
        assert (await client.expect("state"))["state"] == "WAITING_FOR_AGENT"
        # While waiting for an agent the bot must not answer: messages are only acknowledged.
        await client.send({"type": "message", "id": "m2", "text": "Where is my order?"})
        await client.send({"type": "message", "id": "m3", "text": "hello?"})
        start = len(client.seen)
        while not (client.seen and client.seen[-1] == {"type": "ack", "id": "m3"}):
            await client.expect("ack")
        after = [f for f in client.seen[start:] if f["type"] != "queue"]  # queue position updates may come
        assert [f["type"] for f in after] == ["ack", "ack"]


def _answered_from_a_template(brain: Brain, intent: str) -> bool:
    """Chosen, the intent is answered with its response (no form to start, no action to run)."""
    found = brain.kb.intent(intent)
    return found.form is None and found.action is None


def _ambiguous_message(brain: Brain) -> str:
    """A candidate the demo model hesitates over, one of whose two options is answered from a template."""
    understood = brain.understand(AMBIGUOUS_CANDIDATES)
    for text, u in zip(AMBIGUOUS_CANDIDATES, understood, strict=True):
        decision = brain.policy.decide(text, u, TurnContext())
        if decision.action is Action.CLARIFY and any(_answered_from_a_template(brain, o) for o in decision.options):
            return text
    pytest.fail("none of the ambiguous candidates made the demo model hesitate; add candidates")


@pytest.mark.parametrize("junk", ["<script>alert(1)</script>", "\u0001\u0002\u0003", "?!?!", "<b></b>"])
async def test_junk_as_a_first_message_is_asked_to_be_rephrased_not_handed_to_a_person(base: str, junk: str) -> None:
    async with customer(base) as (client, _):
        first = await client.say("m1", junk)
        assert first["type"] == "reply" and first["source"] == "fallback", first
        again = await client.say("m2", junk)
        assert again["type"] == "handoff" and again["reason"] == "repeated_failure", again


async def test_ambiguous_message_is_clarified_and_the_choice_answered(base: str, demo_brain: Brain) -> None:
    text = _ambiguous_message(demo_brain)
    async with customer(base) as (client, _):
        clarify = await client.say("m1", text)
        assert clarify["type"] == "clarify"
        assert len(clarify["options"]) == 2
        option = [o for o in clarify["options"] if _answered_from_a_template(demo_brain, o["intent"])][-1]
        assert option["label"] == demo_brain.kb.intent(option["intent"]).label
        reply = await client.say("m2", option["label"], intent=option["intent"])
        if demo_brain.kb.intent(option["intent"]).handoff:
            assert reply["type"] == "handoff"
        else:
            assert reply["type"] == "reply"
            assert reply["intent"] == option["intent"]
            assert reply["text"] in demo_brain.kb.responses[option["intent"]]


async def test_reconnecting_with_the_session_token_returns_the_history(base: str) -> None:
    async with customer(base) as (client, welcome):
        await client.say("m1", "How much is delivery?")
        await client.say("m2", "do you deliver to France?")
        session, conversation = welcome["session"], welcome["conversation_id"]
    async with customer(base, session) as (_, again):
        assert again["conversation_id"] == conversation
        history = again["history"]
        assert [item["role"] for item in history] == ["bot", "customer", "bot", "customer", "bot"]
        assert [item["id"] for item in history if item["role"] == "customer"] == ["m1", "m2"]
        assert history[1]["text"] == "How much is delivery?"


async def test_resent_message_is_answered_once(base: str) -> None:
    async with customer(base) as (client, welcome):
        first = await client.say("m1", "how much is shipping?")
    async with customer(base, welcome["session"]) as (client, again):
        assert sum(1 for item in again["history"] if item["id"] == "m1") == 1
        repeat = await client.say("m1", "how much is shipping?")
        assert repeat["id"] == first["id"]
    async with customer(base, welcome["session"]) as (_, last):
        assert sum(1 for item in last["history"] if item["role"] == "customer") == 1


async def test_malformed_frames_get_error_frames_and_the_connection_lives_on(base: str) -> None:
    async with customer(base) as (client, _):
        await client.ws.send("{not json")
        assert (await client.expect("error"))["code"] == "bad_json"
        await client.send({"type": "dance"})
        assert (await client.expect("error"))["code"] == "bad_frame"
        await client.send({"type": "message", "id": "m1", "text": "x" * 2001})
        error = await client.expect("error")
        assert (error["code"], error["ref"]) == ("too_long", "m1")
        reply = await client.say("m2", "Where is my order?")
        assert reply["type"] == "reply"


async def test_unknown_session_is_refused_with_what_to_do(base: str) -> None:
    from websockets.asyncio.client import connect

    async with connect(f"ws://{base}/ws/customer") as ws:
        await ws.send(json.dumps({"type": "message", "id": "m1", "text": "hi"}))
        assert json.loads(await ws.recv())["code"] == "hello_required"
        await ws.send(json.dumps({"type": "hello", "session": "forged-token"}))
        error = json.loads(await ws.recv())
        assert error["code"] == "session_unknown"
        assert "session null" in error["message"]
        await ws.send(json.dumps({"type": "hello", "session": None}))
        assert json.loads(await ws.recv())["type"] == "welcome"


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def _get_with_headers(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


async def test_http_routes_serve_the_widget_page_and_health(base: str) -> None:
    status, kind, body = await asyncio.to_thread(_get, f"http://{base}/healthz")
    assert status == 200 and kind == "application/json"
    assert json.loads(body)["kb"] == "Pinecone Outfitters"
    status, kind, body = await asyncio.to_thread(_get, f"http://{base}/")
    assert status == 200 and kind.startswith("text/html")
    assert b'src="/widget.js"' in body
    status, kind, _ = await asyncio.to_thread(_get, f"http://{base}/widget.js")
    assert status == 200 and "javascript" in kind
    status, _, _ = await asyncio.to_thread(_get, f"http://{base}/../pyproject.toml")
    assert status == 404


async def test_every_widget_module_is_served_to_any_origin(base: str) -> None:
    """/widget.js imports widget/main.js, which imports the rest: each one is served, as JavaScript, with CORS."""
    seen: set[str] = set()
    todo = ["main.js"]
    while todo:
        name = todo.pop()
        seen.add(name)
        url = f"http://{base}/widget/{name}"
        status, headers, body = await asyncio.to_thread(_get_with_headers, url)
        assert status == 200, url
        assert headers["Content-Type"] == "text/javascript; charset=utf-8", url
        assert headers["Access-Control-Allow-Origin"] == "*", url
        text = body.decode()
        todo += [found for found in re.findall(r'from "\./([\w-]+\.js)"', text) if found not in seen]
    assert {"main.js", "chat.js", "connection.js", "outbox.js", "view.js", "stream.js", "queue.js", "dom.js"} <= seen
    _, _, loader = await asyncio.to_thread(_get, f"http://{base}/widget.js")
    assert b'"widget/main.js"' in loader
    status, _, _ = await asyncio.to_thread(_get, f"http://{base}/widget/nothing.js")
    assert status == 404


async def test_conversations_are_stored_in_sqlite(base: str, tmp_path: Path, demo_brain: Brain) -> None:
    db = tmp_path / "persist.sqlite3"
    signer = SessionSigner("the-same-secret-key-across-restarts-0123")  # DESKMATE_SECRET_KEY
    async with running_server(demo_brain, db, signer=signer) as url, customer(url) as (client, welcome):
        await client.say("m1", "Where is my order?")
    async with running_server(demo_brain, db, signer=signer) as url, customer(url, welcome["session"]) as (_, again):
        assert [item["id"] for item in again["history"] if item["role"] == "customer"] == ["m1"]


async def test_without_a_secret_key_sessions_end_with_the_process(tmp_path: Path, demo_brain: Brain) -> None:
    db = tmp_path / "persist.sqlite3"
    async with running_server(demo_brain, db) as url, customer(url) as (_, welcome):
        pass
    async with running_server(demo_brain, db) as url, connect(f"ws://{url}/ws/customer") as ws:
        client = Client(ws)
        await client.send({"type": "hello", "session": welcome["session"]})
        assert (await client.expect("error"))["code"] == "session_unknown"
