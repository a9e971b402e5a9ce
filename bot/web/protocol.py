"""The customer websocket protocol (docs/protocol.md): frame validation and frame building.

Parsing raises :class:`ProtocolError` with the wire error code and a message saying what to fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal, TypedDict
from urllib.parse import urlsplit, urlunsplit

from bot.bus.base import Signal
from bot.core.events import (
    AGENT_JOINED,
    AGENT_MESSAGE,
    BOT_REPLY,
    CLARIFY,
    CLOSED,
    CONTACT_REQUEST,
    CUSTOMER_MESSAGE,
    HANDED_BACK,
    HANDOFF,
    STATE_CHANGED,
    StoredEvent,
    iso,
)
from bot.core.feedback import MAX_COMMENT, SCORES, VALUES, ratings
from bot.errors import ProtocolError
from retrieval.languages.detect import base_language

MAX_TEXT = 2000
MAX_ID = 64
MAX_FRAME = 64 * 1024
MAX_EMAIL = 254
MAX_PAGE = 2048
RESERVED_ID_PREFIX = "agent:"  # agents' frame ids live in the same per-conversation namespace
EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']+\.[^@\s<>\"']{2,}$")


class Hello(TypedDict):
    type: Literal["hello"]
    session: str | None
    page: str | None  # the page the widget is on, without query and fragment (for agents); None if not http(s)
    language: str | None  # the browser's language ("zh-CN" -> "zh"): a new conversation's greeting uses it


class Message(TypedDict, total=False):
    type: Literal["message"]
    id: str
    text: str
    intent: str


class Typing(TypedDict):
    type: Literal["typing"]
    on: bool


class Contact(TypedDict):
    type: Literal["contact"]
    id: str
    email: str
    text: str


class Feedback(TypedDict):
    type: Literal["feedback"]
    id: str
    reply: str  # the wire id of the rated answer (e.g. "e7")
    value: str  # "up" or "down"
    comment: str | None


class Survey(TypedDict):
    type: Literal["survey"]
    id: str
    score: int  # 1 to 5
    comment: str | None


class End(TypedDict):
    type: Literal["end"]
    id: str


ClientFrame = Hello | Message | Typing | Contact | Feedback | Survey | End


def parse_client_frame(raw: str | bytes) -> ClientFrame:
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
        page = frame.get("page")
        if page is not None and (not isinstance(page, str) or len(page) > MAX_PAGE):
            raise ProtocolError("bad_frame", f'"page" must be null or the page\'s URL, at most {MAX_PAGE} characters')
        language = frame.get("language")
        if language is not None and (not isinstance(language, str) or len(language) > 35):
            raise ProtocolError("bad_frame", '"language" must be null or the browser\'s language tag, like "zh-CN"')
        return Hello(type="hello", session=session, page=page_shown(page), language=base_language(language))
    if kind == "message":
        return _parse_message(frame)
    if kind == "typing":
        on = frame.get("on")
        if not isinstance(on, bool):
            raise ProtocolError("bad_frame", '"on" must be true or false')
        return Typing(type="typing", on=on)
    if kind == "contact":
        return _parse_contact(frame)
    if kind in ("feedback", "survey", "end"):
        return _parse_feedback(kind, frame)
    raise ProtocolError(
        "bad_frame",
        f'unknown frame type {kind!r}; expected "hello", "message", "typing", "contact", "feedback", "survey" or "end"',
    )


def _parse_feedback(kind: str, frame: dict[str, Any]) -> Feedback | Survey | End:
    frame_id = frame.get("id")
    if not isinstance(frame_id, str) or not 0 < len(frame_id) <= MAX_ID or frame_id.startswith(RESERVED_ID_PREFIX):
        raise ProtocolError("bad_frame", f'a {kind} frame needs an "id": a string of 1 to {MAX_ID} characters')
    if kind == "end":
        return End(type="end", id=frame_id)
    comment = frame.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        raise ProtocolError("bad_feedback", f"a comment is text of at most {MAX_COMMENT} characters", ref=frame_id)
    comment = comment.strip() or None if isinstance(comment, str) else None
    if kind == "survey":
        score = frame.get("score")
        if isinstance(score, bool) or not isinstance(score, int) or score not in SCORES:
            raise ProtocolError("bad_feedback", '"score" must be a whole number from 1 to 5', ref=frame_id)
        return Survey(type="survey", id=frame_id, score=score, comment=comment)
    reply, value = frame.get("reply"), frame.get("value")
    if not isinstance(reply, str) or not 0 < len(reply) <= MAX_ID:
        raise ProtocolError("bad_feedback", '"reply" must be the id of the answer you rate', ref=frame_id)
    if value not in VALUES:
        raise ProtocolError("bad_feedback", '"value" must be "up" or "down"', ref=frame_id)
    return Feedback(type="feedback", id=frame_id, reply=reply, value=str(value), comment=comment)


def page_shown(url: str | None) -> str | None:
    """What agents are shown of the customer's page: an http(s) URL without its query and fragment.

    Query strings and fragments often carry personal data (an email, a reset token), so they are
    never kept. Anything that is not an http(s) URL is dropped.
    """
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.hostname:
        return None
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path or "/", "", ""))


def _parse_contact(frame: dict[str, Any]) -> Contact:
    message_id = frame.get("id")
    if not isinstance(message_id, str) or not 0 < len(message_id) <= MAX_ID:
        raise ProtocolError("bad_frame", f'a contact request needs an "id": a string of 1 to {MAX_ID} characters')
    if message_id.startswith(RESERVED_ID_PREFIX):
        raise ProtocolError("bad_frame", f'message ids must not start with "{RESERVED_ID_PREFIX}"')
    email = frame.get("email")
    if not isinstance(email, str) or len(email) > MAX_EMAIL or not EMAIL.match(email.strip()):
        raise ProtocolError("bad_email", "enter an email address like name@example.com", ref=message_id)
    text = frame.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ProtocolError("bad_frame", "write a short message for the team", ref=message_id)
    if len(text) > MAX_TEXT:
        raise ProtocolError(
            "too_long", f"the message is {len(text)} characters; the limit is {MAX_TEXT}", ref=message_id
        )
    return Contact(type="contact", id=message_id, email=email.strip(), text=text.strip())


def _parse_message(frame: dict[str, Any]) -> Message:
    message_id = frame.get("id")
    if not isinstance(message_id, str) or not 0 < len(message_id) <= MAX_ID:
        raise ProtocolError("bad_frame", f'a message needs an "id": a string of 1 to {MAX_ID} characters')
    if message_id.startswith(RESERVED_ID_PREFIX):
        raise ProtocolError("bad_frame", f'message ids must not start with "{RESERVED_ID_PREFIX}"')
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


def event_frame(event: StoredEvent) -> dict[str, Any] | None:
    """The frame that shows ``event`` to the customer, or None if customers don't see it."""
    data = event.data
    if event.kind == BOT_REPLY:
        return {
            "type": "reply",
            "id": event.id,
            "at": iso(event.created_at),
            "reply_to": data.get("reply_to"),
            "text": data["text"],
            "source": data.get("source"),
            "intent": data.get("intent"),
            "confidence": data.get("confidence"),
            "buttons": data.get("buttons", []),
            **({"stream": data["stream"]} if "stream" in data else {}),
        }
    if event.kind == CLARIFY:
        return {
            "type": "clarify",
            "id": event.id,
            "at": iso(event.created_at),
            "reply_to": data.get("reply_to"),
            "text": data["text"],
            "options": data.get("options", []),
            **({"stream": data["stream"]} if "stream" in data else {}),  # replaces a withheld generation
        }
    if event.kind == HANDOFF:
        return {
            "type": "handoff",
            "id": event.id,
            "at": iso(event.created_at),
            "reply_to": data.get("reply_to"),
            "text": data["text"],
            "reason": data.get("reason"),
            **({"stream": data["stream"]} if "stream" in data else {}),
        }
    if event.kind == STATE_CHANGED:
        return {"type": "state", "state": data["to"]}
    if event.kind == AGENT_JOINED:
        return {"type": "agent_joined", "id": event.id, "name": data.get("display_name")}
    if event.kind == AGENT_MESSAGE:
        return {
            "type": "agent_message",
            "id": event.id,
            "at": iso(event.created_at),
            "text": data["text"],
            "name": data.get("display_name"),
        }
    if event.kind == HANDED_BACK:
        return {"type": "handed_back", "id": event.id, "name": data.get("display_name")}
    if event.kind == CLOSED:
        return {"type": "closed", "id": event.id, "name": data.get("display_name"), "by": data.get("by", "agent")}
    return None


def history(events: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """A welcome frame's history: what customers see of ``events``, answers marked with their rating."""
    rated = ratings(events)
    items = []
    for item in map(history_item, events):
        if item is not None:
            if item["id"] in rated:
                item["rated"] = rated[item["id"]]
            items.append(item)
    return items


def history_item(event: StoredEvent) -> dict[str, Any] | None:
    """The history entry for ``event`` in a welcome frame, or None if customers don't see it."""
    base = {"id": event.id, "text": event.data.get("text", ""), "at": iso(event.created_at)}
    if event.kind == CUSTOMER_MESSAGE:
        return {**base, "role": "customer", "kind": "message"}
    if event.kind == BOT_REPLY:
        return {
            **base,
            "role": "bot",
            "kind": "reply",
            "source": event.data.get("source"),
            "buttons": event.data.get("buttons", []),
        }
    if event.kind == CLARIFY:
        return {**base, "role": "bot", "kind": "clarify", "options": event.data.get("options", [])}
    if event.kind == HANDOFF:
        return {**base, "role": "system", "kind": "handoff"}
    if event.kind == AGENT_MESSAGE:
        return {**base, "role": "agent", "kind": "message", "name": event.data.get("display_name")}
    if event.kind in (AGENT_JOINED, HANDED_BACK, CLOSED):
        item = {**base, "role": "system", "kind": event.kind, "name": event.data.get("display_name")}
        return {**item, "by": event.data.get("by", "agent")} if event.kind == CLOSED else item
    if event.kind == CONTACT_REQUEST:
        return {**base, "role": "customer", "kind": "contact", "email": event.data.get("email")}
    return None


def signal_frame(signal: Signal) -> dict[str, Any] | None:
    """The frame that shows a live signal to the customer (an agent typing, the queue position)."""
    if signal.kind == "typing" and signal.data.get("role") == "agent":
        return {"type": "typing", "on": bool(signal.data.get("on")), "name": signal.data.get("who")}
    if signal.kind == "queue":
        return {"type": "queue", **signal.data}
    if signal.kind == "reply_delta":
        return {"type": "reply_delta", **signal.data}
    return None
