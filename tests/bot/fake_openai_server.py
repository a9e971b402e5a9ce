"""A small fake OpenAI-compatible chat-completions server on loopback, for the generation tests.

It answers ``POST /v1/chat/completions`` with server-sent events in chunked transfer encoding, as
vLLM and llama.cpp do, and records each request. ``mode`` picks the behaviour:

- ``stream``: a role-only event, one event per delta, a usage event, ``[DONE]``
- ``split``: the same bytes cut into 3-byte chunks with CRLF line ends (splits UTF-8 characters)
- ``slow_first``: headers at once, then ``pause`` seconds before the first delta
- ``stall``: the first delta, then ``pause`` seconds of silence
- ``status``: HTTP ``status`` with a JSON error body
- ``malformed``: an event whose data is not JSON
- ``error_event``: one delta, then an ``{"error": ...}`` event (vLLM's way to fail mid-answer)
- ``truncated``: two deltas, then the connection closes without ``[DONE]``
- ``not_http``: a line of text that is not HTTP
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeOpenAIServer:
    mode: str = "stream"
    deltas: list[str] = field(default_factory=lambda: ["Parcels ", "arrive ", "in 3", "–5 days."])
    delay: float = 0.0  # between events
    pause: float = 5.0  # for the slow modes
    status: int = 500
    error_message: str = "CUDA out of memory"
    requests: list[RecordedRequest] = field(default_factory=list)
    disconnects: int = 0  # answers cut short because the client went away
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> FakeOpenAIServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._answer(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.disconnects += 1
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        method, path, _ = (await reader.readline()).decode().split(" ", 2)
        headers: dict[str, str] = {}
        while (line := await reader.readline()).strip():
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = json.loads(await reader.readexactly(int(headers["content-length"])))
        self.requests.append(RecordedRequest(method, path, headers, body))

        if self.mode == "not_http":
            writer.write(b"hello, this is not HTTP\r\n\r\n")
            return
        if self.mode == "status":
            payload = json.dumps({"error": {"message": self.error_message, "type": "server_error"}}).encode()
            writer.write(
                f"HTTP/1.1 {self.status} Oops\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
            return

        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n"
        )
        await writer.drain()
        events = self._events(body)
        if self.mode == "split":
            raw = b"".join(e.replace(b"\n", b"\r\n") for e in events)
            for i in range(0, len(raw), 3):
                await self._chunk(writer, raw[i : i + 3])
        else:
            for n, event in enumerate(events):
                if (self.mode == "slow_first" and n == 1) or (self.mode == "stall" and n == 2):
                    await asyncio.sleep(self.pause)
                if self.mode == "truncated" and n == 3:
                    return  # no [DONE], no last chunk
                await self._chunk(writer, event)
                await asyncio.sleep(self.delay)
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    def _events(self, body: dict[str, Any]) -> list[bytes]:
        def event(payload: Any) -> bytes:
            return f"data: {json.dumps(payload)}\n\n".encode()

        def delta(content: dict[str, str]) -> bytes:
            return event({"id": "chatcmpl-1", "model": body["model"], "choices": [{"index": 0, "delta": content}]})

        if self.mode == "malformed":
            return [delta({"role": "assistant"}), b"data: {this is not json\n\n"]
        if self.mode == "error_event":
            return [delta({"content": self.deltas[0]}), event({"error": {"message": self.error_message}})]
        return [
            delta({"role": "assistant"}),
            *(delta({"content": text}) for text in self.deltas),
            event({"id": "chatcmpl-1", "choices": [], "usage": {"completion_tokens": len(self.deltas)}}),
            b": a comment line\n\ndata: [DONE]\n\n",
        ]

    async def _chunk(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        await writer.drain()
