"""Refusing abuse at the door: page origins, connections and messages per address, forged sessions."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from bot.service.brain import Brain
from bot.service.session_tokens import SessionSigner
from bot.web.limits import AddressLimits
from bot.web.protocol import MAX_FRAME
from tests.e2e.server import Client, customer, running_service

SHOP = "https://shop.example.com"


async def handshake_status(url: str, origin: str | None) -> int:
    """101 when the websocket opened, else the HTTP status it was refused with."""
    try:
        async with connect(url, origin=origin):  # type: ignore[arg-type]
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


async def test_only_this_server_and_allowed_sites_may_open_the_customer_websocket(
    demo_brain: Brain, tmp_path: Path
) -> None:
    async with running_service(demo_brain, tmp_path / "db.sqlite3", origins=frozenset({SHOP})) as (base, _):
        own = f"http://{base}"
        assert await handshake_status(f"ws://{base}/ws/customer", own) == 101
        assert await handshake_status(f"ws://{base}/ws/customer", SHOP) == 101
        assert await handshake_status(f"ws://{base}/ws/customer", None) == 101  # not a browser page
        assert await handshake_status(f"ws://{base}/ws/customer", "https://evil.example") == 403
        assert await handshake_status(f"ws://{base}/ws/customer", "https://shop.example.com.evil.example") == 403
        # the consoles are this server's own pages: an embedding site may not open them
        for path in ("/ws/agent", "/ws/admin"):
            assert await handshake_status(f"ws://{base}{path}", own) == 101
            assert await handshake_status(f"ws://{base}{path}", SHOP) == 403


async def test_an_address_may_hold_only_so_many_connections(demo_brain: Brain, tmp_path: Path) -> None:
    limits = AddressLimits(max_connections=3, rate=100.0, burst=100)
    async with running_service(demo_brain, tmp_path / "db.sqlite3", address_limits=limits) as (base, _):
        url = f"ws://{base}/ws/customer"
        held = [await connect(url) for _ in range(3)]
        try:
            assert await handshake_status(url, None) == 429
        finally:
            for ws in held:
                await ws.close()
        for _ in range(50):  # closing frees the slots
            if not limits.full("127.0.0.1"):
                break
            await asyncio.sleep(0.05)
        async with customer(base) as (_, welcome):
            assert welcome["type"] == "welcome"


async def test_connections_from_one_address_share_one_message_rate(demo_brain: Brain, tmp_path: Path) -> None:
    limits = AddressLimits(max_connections=10, rate=0.01, burst=5)  # two new conversations, three messages
    async with (
        running_service(demo_brain, tmp_path / "db.sqlite3", address_limits=limits) as (base, _),
        customer(base) as (first, _),
        customer(base) as (second, _),
    ):
        await first.say("a1", "where is my order?")
        await second.say("b1", "where is my order?")
        await first.say("a2", "how do I return something?")
        await second.send({"type": "message", "id": "b2", "text": "and a refund?"})
        refused = await second.expect("error")
        assert (refused["code"], refused["ref"]) == ("rate_limited", "b2")
        async with connect(f"ws://{base}/ws/customer") as ws:  # and no third new conversation either
            third = Client(ws)
            await third.send({"type": "hello", "session": None})
            assert (await third.expect("error"))["code"] == "rate_limited"


async def test_a_forged_or_foreign_session_token_opens_nothing(demo_brain: Brain, tmp_path: Path) -> None:
    signer = SessionSigner("the-key-of-this-deployment-0123456789")
    async with running_service(demo_brain, tmp_path / "db.sqlite3", signer=signer) as (base, _):
        async with customer(base) as (client, welcome):
            await client.say("m1", "where is my order?")
        token = welcome["session"]
        nonce, expires, signature = token.split(".")
        forged = [
            SessionSigner("another-deployments-key-0123456789").issue(),  # signed with another key
            f"{nonce[:-1]}{'B' if nonce.endswith('A') else 'A'}.{expires}.{signature}",  # another nonce, same signature
            signer.issue(),  # validly signed, but no conversation was ever opened with it
            welcome["conversation_id"],
        ]
        for attempt in forged:
            async with connect(f"ws://{base}/ws/customer") as ws:
                probe = Client(ws)
                await probe.send({"type": "hello", "session": attempt})
                error = await probe.expect("error")
                assert error["code"] == "session_unknown"
                assert all(f["type"] != "welcome" for f in probe.seen)
        async with customer(base, token) as (_, resumed):  # the real token still works
            assert resumed["conversation_id"] == welcome["conversation_id"]
            assert any(item.get("text") == "where is my order?" for item in resumed["history"])


async def test_an_oversize_frame_closes_only_that_connection(demo_brain: Brain, tmp_path: Path) -> None:
    async with running_service(demo_brain, tmp_path / "db.sqlite3") as (base, _), customer(base) as (bystander, _):
        async with connect(f"ws://{base}/ws/customer", max_size=None) as ws:
            await ws.send(json.dumps({"type": "hello", "session": None}))
            await ws.recv()
            await ws.send("x" * (MAX_FRAME + 1))
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big
        reply = await bystander.say("m1", "where is my order?")
        assert reply["type"] in ("reply", "clarify", "handoff")
