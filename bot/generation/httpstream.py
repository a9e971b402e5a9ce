"""A minimal streaming HTTP/1.1 client on asyncio streams: one POST, its body read as it arrives.

Enough for a chat-completions endpoint: http or https, chunked or sized bodies, one request per
connection. No redirects, proxies or keep-alive. Every failure is a GenerationError that names the
URL: ``unreachable`` for the network, ``bad_response`` for what is not HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.errors import GenerationError

READ_SIZE = 65536


@dataclass
class Response:
    url: str
    status: int
    reason: str
    headers: dict[str, str]  # names lower-cased
    _reader: asyncio.StreamReader

    async def iter_bytes(self) -> AsyncGenerator[bytes, None]:
        """The body, in pieces as they arrive (chunked transfer encoding undone)."""
        try:
            if "chunked" in self.headers.get("transfer-encoding", "").lower():
                async with contextlib.aclosing(self._chunked()) as pieces:
                    async for piece in pieces:
                        yield piece
            elif "content-length" in self.headers:
                left = int(self.headers["content-length"])
                while left > 0:
                    piece = await self._reader.read(min(READ_SIZE, left))
                    if not piece:
                        raise asyncio.IncompleteReadError(b"", left)
                    left -= len(piece)
                    yield piece
            else:
                while piece := await self._reader.read(READ_SIZE):
                    yield piece
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise GenerationError(
                f"the connection to {self.url} broke in the middle of the answer ({_describe(exc)}); "
                "check the model server's logs",
                reason="unreachable",
            ) from exc
        except ValueError as exc:  # a bad chunk size or content length, or a line past the reader's limit
            raise GenerationError(
                f"{self.url} sent a malformed HTTP body ({exc}); is it an OpenAI-compatible server?",
                reason="bad_response",
            ) from exc

    async def read(self, limit: int) -> bytes:
        """At most ``limit`` bytes of the body (for error messages); whatever arrived if it breaks off."""
        body = b""
        with contextlib.suppress(GenerationError):
            async with contextlib.aclosing(self.iter_bytes()) as pieces:
                async for piece in pieces:
                    body += piece
                    if len(body) >= limit:
                        break
        return body[:limit]

    async def _chunked(self) -> AsyncGenerator[bytes, None]:
        while True:
            size_line = await self._reader.readline()
            if not size_line:
                raise asyncio.IncompleteReadError(b"", None)
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while (await self._reader.readline()).strip():  # trailers
                    pass
                return
            piece = await self._reader.readexactly(size)
            await self._reader.readexactly(2)  # CRLF after the chunk
            yield piece


@contextlib.asynccontextmanager
async def post(url: str, body: bytes, headers: Mapping[str, str]) -> AsyncIterator[Response]:
    """POST ``body`` to ``url``; the response's status and headers are read, its body is left to stream."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise GenerationError(f"{url!r} is not an http:// or https:// URL", reason="unreachable")
    tls = ssl.create_default_context() if parts.scheme == "https" else None
    port = parts.port or (443 if tls else 80)
    try:
        reader, writer = await asyncio.open_connection(parts.hostname, port, ssl=tls, limit=READ_SIZE)
    except OSError as exc:
        raise GenerationError(
            f"cannot reach the model server at {parts.scheme}://{parts.netloc} ({_describe(exc)}); "
            "check that it is running and that the base URL is right",
            reason="unreachable",
        ) from exc
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = {
            "Host": parts.netloc.rpartition("@")[2],
            "User-Agent": "deskmate",
            "Content-Length": str(len(body)),
            "Connection": "close",
            **headers,
        }
        request = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n"
        try:
            writer.write(request.encode("latin-1") + body)
            await writer.drain()
            status, reason, response_headers = await _read_head(reader)
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise GenerationError(
                f"the model server at {url} closed the connection before answering ({_describe(exc)})",
                reason="unreachable",
            ) from exc
        except ValueError as exc:
            raise GenerationError(
                f"{url} did not answer in HTTP ({exc}); is it the model server's address?", reason="bad_response"
            ) from exc
        yield Response(url, status, reason, response_headers, reader)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, str, dict[str, str]]:
    line = await _read_line(reader)
    fields = line.decode("latin-1").strip().split(None, 2)
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        raise ValueError(f"bad status line {line[:80]!r}")
    headers: dict[str, str] = {}
    while (line := await _read_line(reader)).strip():
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise ValueError(f"bad header line {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return int(fields[1]), fields[2] if len(fields) > 2 else "", headers


async def _read_line(reader: asyncio.StreamReader) -> bytes:
    line = await reader.readline()  # ValueError past the reader's limit
    if not line.endswith(b"\n"):
        raise asyncio.IncompleteReadError(line, None)
    return line


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.IncompleteReadError):
        return "the connection closed early"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
