"""Generation through any OpenAI-compatible chat-completions endpoint (vLLM, llama.cpp server, Ollama).

``POST {base_url}/v1/chat/completions`` with ``"stream": true``; the answer comes back as
server-sent events whose ``choices[0].delta.content`` are the text deltas, ended by
``data: [DONE]``. Everything that goes wrong is a GenerationError that says what to check.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

from bot.errors import ConfigError, GenerationError
from bot.generation import httpstream
from bot.generation.base import DEFAULT_MAX_TOKENS, ChatMessage, Generator, Timeout, within_deadline
from bot.generation.sse import SSEDecoder

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = Timeout(first_token=10.0, total=60.0)
ERROR_BODY_CHARS = 300
HINTS = {
    401: "check the API key (DESKMATE_LLM_API_KEY)",
    403: "check the API key (DESKMATE_LLM_API_KEY)",
    404: "check the base URL (Deskmate adds /v1/chat/completions) and the model name",
    429: "the server is rate-limiting: lower the load or raise its limits",
}


class OpenAICompatibleGenerator(Generator):
    """Streams chat completions from ``base_url``; ``api_key`` (if any) is sent as a bearer token.

    ``base_url`` is the server's root, such as ``http://localhost:8000`` (a trailing ``/v1`` is
    accepted too). ``timeout`` is the default for each call: a number bounds both the first text
    and the whole answer, a :class:`Timeout` sets them apart. The caller reads the key from its
    settings (``DESKMATE_LLM_API_KEY``) and passes it in.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float | Timeout = DEFAULT_TIMEOUT,
        temperature: float = 0.2,
    ) -> None:
        root = base_url.strip().rstrip("/")
        root = root.removesuffix("/v1")
        if not root.startswith(("http://", "https://")):
            raise ConfigError(f"the generation base URL {base_url!r} must start with http:// or https://")
        if not model.strip():
            raise ConfigError("the generation model name is empty; give the name the server serves it under")
        self.url = root + "/v1/chat/completions"
        self.model = model
        self.timeout = Timeout.of(timeout)
        self.temperature = temperature
        self._api_key = api_key or None

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAICompatibleGenerator({self.url!r}, model={self.model!r})"

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        timeout: float | Timeout | None = None,
    ) -> AsyncIterator[str]:
        limits = self.timeout if timeout is None else Timeout.of(timeout)
        return within_deadline(self._stream(messages, max_tokens), limits, what=f"the model server at {self.url}")

    async def _stream(self, messages: Sequence[ChatMessage], max_tokens: int) -> AsyncIterator[str]:
        body = {
            "model": self.model,
            "messages": list(messages),
            "stream": True,
            "max_tokens": max_tokens,
            "temperature": self.temperature,
        }
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        started = time.perf_counter()
        deltas = 0
        async with httpstream.post(self.url, json.dumps(body).encode(), headers) as response:
            if response.status != 200:
                raise await self._http_error(response)
            async with contextlib.aclosing(_events(response)) as events:
                async for data in events:
                    if data.strip() == "[DONE]":
                        break
                    if text := self._delta(data):
                        deltas += 1
                        yield text
                else:
                    raise GenerationError(
                        f"the answer from {self.url} ended without 'data: [DONE]'; the server may have "
                        "stopped mid-answer: check its logs",
                        reason="bad_response",
                    )
        log.debug("generated %d deltas with %s in %.2f s", deltas, self.model, time.perf_counter() - started)

    def _delta(self, data: str) -> str:
        """The text of one event: ``choices[0].delta.content`` ("" for role-only or usage events)."""
        try:
            event = json.loads(data)
        except json.JSONDecodeError:
            raise self._malformed(data, "is not JSON") from None
        if not isinstance(event, dict):
            raise self._malformed(data, "is not a JSON object")
        if "error" in event:
            raise GenerationError(
                f"the model server at {self.url} failed mid-answer: {_error_text(event['error'])}", reason="http"
            )
        choices = event.get("choices")
        if not isinstance(choices, list):
            raise self._malformed(data, "has no 'choices' list")
        if not choices:  # the usage summary some servers send last
            return ""
        choice = choices[0]
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            raise self._malformed(data, "has no 'choices[0].delta' object")
        content = delta.get("content")
        if content is None:
            return ""
        if not isinstance(content, str):
            raise self._malformed(data, "has a 'delta.content' that is not text")
        return content

    def _malformed(self, data: str, problem: str) -> GenerationError:
        return GenerationError(
            f"an event from {self.url} {problem}: {_clip(data)!r}; the URL must be an OpenAI-compatible "
            "chat-completions endpoint that streams server-sent events",
            reason="bad_response",
        )

    async def _http_error(self, response: httpstream.Response) -> GenerationError:
        raw = await response.read(4096)
        text = raw.decode("utf-8", "replace")
        with contextlib.suppress(ValueError, KeyError, TypeError):
            text = _error_text(json.loads(text)["error"])
        if 300 <= response.status < 400:
            hint = f"it redirects to {response.headers.get('location', '?')}: use that address as the base URL"
        elif response.status >= 500:
            hint = "the model server failed: check its logs"
        else:
            hint = HINTS.get(response.status, "check the request the server refused")
        return GenerationError(
            f"the model server at {self.url} answered HTTP {response.status} {response.reason}: "
            f"{_clip(text) or '(no body)'}; {hint}",
            reason="http",
        )


async def _events(response: httpstream.Response) -> AsyncGenerator[str, None]:
    """The data of each server-sent event in ``response``'s body."""
    decoder = SSEDecoder()
    async with contextlib.aclosing(response.iter_bytes()) as pieces:
        async for piece in pieces:
            for data in decoder.feed(piece):
                yield data
    for data in decoder.close():
        yield data


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return _clip(str(error.get("message") or error))
    return _clip(str(error))


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ERROR_BODY_CHARS else text[: ERROR_BODY_CHARS - 1] + "…"
