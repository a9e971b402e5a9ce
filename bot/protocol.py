"""The customer websocket protocol (docs/protocol.md): frame validation and frame building.

Parsing raises :class:`ProtocolError` with the wire error code and a message saying what to fix.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict

from bot.errors import ProtocolError
from bot.events import BOT_REPLY, CLARIFY, CUSTOMER_MESSAGE, HANDOFF, STATE_CHANGED, StoredEvent

MAX_TEXT = 2000
MAX_ID = 64
MAX_FRAME = 64 * 1024


class Hello(TypedDict):
    type: Literal["hello"]
    session: str | None


class Message(TypedDict, total=False):
    type: Literal["message"]
    id: str
    text: str
    intent: str


def parse_client_frame(raw: str | bytes) -> Hello | Message:
    """Decode and validate one client frame."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("bad_json", "frames must be UTF-8 JSON text") from exc
    try:
        frame = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError("bad_json", "the frame is not valid JSON; send one JSON object per frame") from exc
    if not isinstance(frame, dict):
        raise ProtocolError("bad_frame", 'the frame must be a JSON object with a "type"')
    kind = frame.get("type")
    if kind == "hello":
        session = frame.get("session")
        if session is not None and (not isinstance(session, str) or not 0 < len(session) <= 200):
            raise ProtocolError("bad_frame", '"session" must be null or the token from an earlier welcome')
        return Hello(type="hello", session=session)
    if kind == "message":
        return _parse_message(frame)
    raise ProtocolError("bad_frame", f'unknown frame type {kind!r}; expected "hello" or "message"')


def _parse_message(frame: dict[str, Any]) -> Message:
    message_id = frame.get("id")
    if not isinstance(message_id, str) or not 0 < len(message_id) <= MAX_ID:
        raise ProtocolError("bad_frame", f'a message needs an "id": a string of 1 to {MAX_ID} characters')
    text = frame.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ProtocolError("bad_frame", 'a message needs a non-empty "text"', ref=message_id)
    if len(text) > MAX_TEXT:
        raise ProtocolError(
            "too_long", f"the message is {len(text)} characters; the limit is {MAX_TEXT}", ref=message_id
        )
    message = Message(type="message", id=message_id, text=text.strip())
    intent = frame.get("intent")
    if intent is not None:
        if not isinstance(intent, str) or not 0 < len(intent) <= 64:
            raise ProtocolError("bad_frame", '"intent" must be the intent of an offered option', ref=message_id)
        message["intent"] = intent
    return message


def error_frame(error: ProtocolError) -> dict[str, Any]:
    return {"type": "error", "code": error.code, "message": str(error), "ref": error.ref}


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="seconds")


def event_frame(event: StoredEvent) -> dict[str, Any] | None:
    """The frame that shows ``event`` to the customer, or None if customers don't see it."""
    data = event.data
    if event.kind == BOT_REPLY:
        return {
            "type": "reply",
            "id": event.id,
            "reply_to": data.get("reply_to"),
            "text": data["text"],
            "source": data.get("source"),
            "intent": data.get("intent"),
            "confidence": data.get("confidence"),
        }
    if event.kind == CLARIFY:
        return {
            "type": "clarify",
            "id": event.id,
            "reply_to": data.get("reply_to"),
            "text": data["text"],
            "options": data.get("options", []),
        }
    if event.kind == HANDOFF:
        return {
            "type": "handoff",
            "id": event.id,
            "reply_to": data.get("reply_to"),
            "text": data["text"],
            "reason": data.get("reason"),
        }
    if event.kind == STATE_CHANGED:
        return {"type": "state", "state": data["to"]}
    return None


def history_item(event: StoredEvent) -> dict[str, Any] | None:
    """The history entry for ``event`` in a welcome frame, or None if customers don't see it."""
    base = {"id": event.id, "text": event.data.get("text", ""), "at": iso(event.created_at)}
    if event.kind == CUSTOMER_MESSAGE:
        return {**base, "role": "customer", "kind": "message"}
    if event.kind == BOT_REPLY:
        return {**base, "role": "bot", "kind": "reply"}
    if event.kind == CLARIFY:
        return {**base, "role": "bot", "kind": "clarify", "options": event.data.get("options", [])}
    if event.kind == HANDOFF:
        return {**base, "role": "system", "kind": "handoff"}
    return None
