"""Protocol fuzzing: 10,000 malformed or hostile frames from hypothesis against a real server.

The server runs in its own thread and event loop (hypothesis drives a synchronous test) with a
cheap in-memory brain, so the frames that happen to be valid are answered fast. Whatever arrives,
the server must answer with frames, not crash, and another customer's conversation must be
untouched and still answered.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from bot.bus.inprocess import InProcessBus
from bot.service.brain import Brain
from bot.service.chat import ChatService
from bot.storage.sqlite.store import SQLiteStore
from bot.web.server import DeskmateServer, bound_port
from tests.bot.service.test_brain import brain as cheap_brain

pytestmark = [
    pytest.mark.slow,
    # the server thread's own randomness (session tokens, ids) runs while hypothesis draws frames
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

FRAMES = 10_000


class ServerThread:
    """The real server on a loopback port, in a thread with its own event loop."""

    def __init__(self, brain: Brain, db: Path) -> None:
        self.brain, self.db = brain, db
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.base = ""
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        store = await SQLiteStore(self.db).open()
        self.service = ChatService(store=store, bus=InProcessBus(), brain=self.brain)
        async with DeskmateServer(self.service, rate=1000.0, burst=1000).running("127.0.0.1", 0) as server:
            self.base = f"127.0.0.1:{bound_port(server)}"
            self.started.set()
            await self._stop.wait()
        await self.service.close()
        await store.close()

    def __enter__(self) -> ServerThread:
        self.thread.start()
        assert self.started.wait(30), "the server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(30)
        self.loop.close()

    def events(self, conversation_id: str) -> list[Any]:
        return asyncio.run_coroutine_threadsafe(self.service.store.events(conversation_id), self.loop).result(30)


def hello(base: str, session: str | None = None) -> tuple[ClientConnection, dict[str, Any]]:
    ws = connect(f"ws://{base}/ws/customer", max_size=None)
    ws.send(json.dumps({"type": "hello", "session": session}))
    while True:
        frame = json.loads(ws.recv(timeout=30))
        if frame["type"] == "welcome":
            return ws, frame


def answer(ws: ClientConnection, message_id: str) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = json.loads(ws.recv(timeout=30))
        if frame.get("reply_to") == message_id and frame["type"] in ("reply", "clarify", "handoff"):
            return frame


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    with ServerThread(cheap_brain(), tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3") as running:
        yield running


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=50),
    st.sampled_from(["<script>alert(1)</script>", "agent:sam:r1", "c_" + "0" * 32, "\u0000", "x" * 2500, "{order_id}"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
typed = st.fixed_dictionaries(
    {"type": st.sampled_from(["hello", "message", "typing", "contact", "auth", "claim", "reply", "", "MESSAGE"])},
    optional={"id": values, "text": values, "session": values, "intent": values, "on": values, "email": values},
)
frames = st.one_of(
    typed.map(json.dumps),
    values.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=200),
    st.just("{" * 5000 + "}" * 5000),
    st.just(json.dumps({"type": "message", "id": "big", "text": "y" * 70_000})),  # over the frame limit
)


def test_ten_thousand_hostile_frames_break_nothing(server: ServerThread) -> None:
    victim, welcome = hello(server.base)
    victim_id = welcome["conversation_id"]
    assert answer_to(victim, "v1", "my kettle leaks")
    before = len(server.events(victim_id))
    state = {"ws": hello(server.base)[0], "sent": 0, "reconnects": 0}

    @settings(max_examples=FRAMES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(frame=frames)
    def send(frame: str | bytes) -> None:
        ws: ClientConnection = state["ws"]
        try:
            ws.send(frame)
            state["sent"] += 1
            while True:  # drain whatever came back, without waiting for it
                reply = ws.recv(timeout=0)
                json.loads(reply)  # every answer is a JSON frame
        except TimeoutError:
            pass
        except ConnectionClosed:
            state["reconnects"] += 1  # an oversize frame closes the connection (code 1009): reconnect
            state["ws"] = hello(server.base)[0]

    send()

    assert state["sent"] >= FRAMES - state["reconnects"]
    assert len(server.events(victim_id)) == before  # nobody else's frames landed in this conversation
    assert answer_to(victim, "v2", "when are you open")  # and it is still answered
    victim.close()
    state["ws"].close()


def answer_to(ws: ClientConnection, message_id: str, text: str) -> dict[str, Any]:
    ws.send(json.dumps({"type": "message", "id": message_id, "text": text}))
    return answer(ws, message_id)
