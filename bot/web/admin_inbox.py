"""The admin websocket's KB inbox frames: what the bot got wrong, and fixing it in the KB.

A thin adapter over :class:`~bot.service.kb_inbox.KBInbox`; the admin connection (bot/web/admin.py)
hands it the frames whose type is in :data:`KINDS`, with who is signed in
(``AdminIdentity.actor``), and sends back the frame :meth:`InboxFrames.handle` returns:

- ``{"type": "inbox", "id"?, "since"?, "until"?}`` (ISO 8601 times; by default the last 30 days)
  -> ``{"type": "inbox", "id", "since", "until", "groups": [...], "candidates": [...], "changes": [...]}``:
  the failed customer messages grouped by meaning, the agents' answers awaiting approval (as the
  ``candidates`` frame lists them) and the changes made from here (pending first);
- ``{"type": "fix", "id", "action", "messages": [{"conversation", "event"}, ...], "intent"?, "response"?,
  "label"?}``, ``action`` one of ``add_to_intent`` (with ``intent``), ``new_intent`` (with
  ``intent``, the new name, ``response`` and optionally ``label``), ``out_of_scope``, ``dismiss``
  -> ``{"type": "fixed", "id", "change": {...}}``;
- ``{"type": "apply", "id"}`` -> ``{"type": "reload_done", "id", "record", "issues", "applied": [change ids]}``
  ("Apply and reload": the normal reload; it can take minutes when intents changed, so run it in
  the background and say ``reload_started`` first, as for ``reload``).

A refusal is ``{"type": "error", "code", "ref", "message"}``: ``bad_frame`` (the frame is wrong),
``unknown_message`` (a message reference that is not a customer message), ``kb_invalid`` (the
loader refused the change; ``issues`` lists ``{"file", "line", "message"}``, the lines those of the
file as it would have been written, and ``message`` says them all), ``busy`` (a reload runs),
``refused`` (anything else Deskmate refused, with why), ``internal``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.core.events import iso
from bot.errors import DeskmateError, KBValidationError, ProtocolError, ReloadBusyError
from bot.service.kb_inbox import Applied, FixAction, Inbox, KBInbox
from bot.service.misunderstood import MessageRef
from bot.service.reloader import issue_dicts
from bot.storage.candidates import Candidate
from bot.web.protocol import MAX_ID, MAX_TEXT, error_frame

logger = logging.getLogger(__name__)

KINDS = ("inbox", "fix", "apply")
ACTIONS = tuple(action.value for action in FixAction)
DEFAULT_DAYS = 30
MAX_MESSAGES = 500  # message references in one fix
MAX_LABEL = 100
EVENT_ID = re.compile(r"^e[1-9][0-9]{0,11}$")


@dataclass(frozen=True)
class InboxRequest:
    type: str
    id: str | None
    since: float | None = None
    until: float | None = None
    action: FixAction | None = None
    messages: tuple[MessageRef, ...] = ()
    intent: str | None = None
    response: str | None = None
    label: str | None = None


def parse_inbox_request(frame: dict[str, Any]) -> InboxRequest:
    """Check an inbox frame (a JSON object with a ``type`` of :data:`KINDS`); :class:`ProtocolError` if malformed."""
    kind = frame.get("type")
    if kind not in KINDS:
        raise ProtocolError("bad_frame", f"unknown frame type {kind!r}; expected one of {', '.join(KINDS)}")
    request_id = frame.get("id")
    if (request_id is not None or kind != "inbox") and (
        not isinstance(request_id, str) or not 0 < len(request_id) <= MAX_ID
    ):
        raise ProtocolError("bad_frame", f'a request needs an "id": a string of 1 to {MAX_ID} characters')
    if kind == "inbox":
        since, until = _time(frame, "since", request_id), _time(frame, "until", request_id)
        if since is not None and until is not None and until <= since:
            raise ProtocolError("bad_frame", '"until" must come after "since"', ref=request_id)
        return InboxRequest(kind, request_id, since=since, until=until)
    if kind == "apply":
        return InboxRequest(kind, request_id)
    action = frame.get("action")
    if action not in ACTIONS:
        raise ProtocolError("bad_frame", f'"action" must be one of {", ".join(ACTIONS)}', ref=request_id)
    fix = FixAction(action)
    messages = _messages(frame.get("messages"), request_id)
    intent = response = label = None
    if fix in (FixAction.ADD_TO_INTENT, FixAction.NEW_INTENT):
        intent = frame.get("intent")
        if not isinstance(intent, str) or not 0 < len(intent.strip()) <= MAX_ID:
            raise ProtocolError("bad_frame", f'"{action}" needs "intent": an intent name', ref=request_id)
        intent = intent.strip()
    if fix is FixAction.NEW_INTENT:
        response = frame.get("response")
        if not isinstance(response, str) or not response.strip() or len(response) > MAX_TEXT:
            raise ProtocolError(
                "bad_frame", f'"new_intent" needs "response": 1 to {MAX_TEXT} characters', ref=request_id
            )
        label = frame.get("label")
        if label is not None and (not isinstance(label, str) or len(label) > MAX_LABEL):
            raise ProtocolError(
                "bad_frame", f'"label" must be a string of at most {MAX_LABEL} characters', ref=request_id
            )
    return InboxRequest(kind, request_id, action=fix, messages=messages, intent=intent, response=response, label=label)


class InboxFrames:
    """Answers the inbox frames of one admin connection (or of several: it keeps no state of its own)."""

    def __init__(self, inbox: KBInbox, *, clock: Callable[[], float] = time.time) -> None:
        self.inbox = inbox
        self._clock = clock

    async def handle(self, frame: dict[str, Any], *, actor: str) -> dict[str, Any]:
        """The answer to ``frame`` from ``actor`` (``admin:USERNAME`` or ``admin``): a result or an error frame."""
        ref = frame.get("id") if isinstance(frame.get("id"), str) else None
        try:
            request = parse_inbox_request(frame)
            if request.type == "inbox":
                since = request.since if request.since is not None else self._clock() - DEFAULT_DAYS * 86_400.0
                return inbox_frame(request.id, await self.inbox.inbox(since=since, until=request.until))
            if request.type == "apply":
                return applied_frame(ref, await self.inbox.apply(actor))
            change = await self._fix(request, actor)
            return {"type": "fixed", "id": request.id, "change": change}
        except ProtocolError as exc:
            return error_frame(exc if exc.ref is not None else ProtocolError(exc.code, str(exc), ref=ref))
        except KBValidationError as exc:
            issues = "; ".join(str(issue) for issue in exc.issues)
            message = f"the KB refused the change, nothing was written: {issues}"
            return {
                "type": "error",
                "code": "kb_invalid",
                "ref": ref,
                "message": message,
                "issues": issue_dicts(exc.issues),
            }
        except ReloadBusyError as exc:
            return {"type": "error", "code": "busy", "ref": ref, "message": str(exc)}
        except DeskmateError as exc:
            return {"type": "error", "code": "refused", "ref": ref, "message": str(exc)}
        except Exception as exc:
            logger.exception("admin inbox: %s failed", frame.get("type"))
            message = f"the {frame.get('type')} failed: {exc}; see the server log"
            return {"type": "error", "code": "internal", "ref": ref, "message": message}

    async def _fix(self, request: InboxRequest, actor: str) -> dict[str, Any]:
        if request.action is FixAction.ADD_TO_INTENT:
            assert request.intent is not None
            change = await self.inbox.add_to_intent(request.messages, request.intent, admin=actor)
        elif request.action is FixAction.NEW_INTENT:
            assert request.intent is not None and request.response is not None
            change = await self.inbox.new_intent(
                request.intent, request.response, request.messages, admin=actor, label=request.label
            )
        elif request.action is FixAction.OUT_OF_SCOPE:
            change = await self.inbox.out_of_scope(request.messages, admin=actor)
        else:
            change = await self.inbox.dismiss(request.messages, admin=actor)
        return change.to_dict()


def inbox_frame(request_id: str | None, inbox: Inbox) -> dict[str, Any]:
    return {
        "type": "inbox",
        "id": request_id,
        "since": iso(inbox.since) if inbox.since is not None else None,
        "until": iso(inbox.until) if inbox.until is not None else None,
        "groups": [g.to_dict() for g in inbox.groups],
        "candidates": [candidate_item(c) for c in inbox.candidates],
        "changes": [c.to_dict() for c in inbox.changes],
    }


def applied_frame(request_id: str | None, applied: Applied) -> dict[str, Any]:
    """As the ``reload_done`` frame of a reload, with the changes it applied."""
    return {
        "type": "reload_done",
        "id": request_id,
        "record": applied.result.record.to_dict(),
        "issues": issue_dicts(applied.result.issues),
        "applied": list(applied.applied),
    }


def candidate_item(candidate: Candidate) -> dict[str, Any]:
    """A candidate as the admin page's ``candidates`` frame shows it (bot/web/admin.py's ``candidate_dict``)."""
    return {
        "id": candidate.id,
        "conversation_id": candidate.conversation_id,
        "question": candidate.question,
        "answer": candidate.answer,
        "agent": candidate.agent,
        "created_at": candidate.created_at,
        "status": candidate.status.value,
    }


def _time(frame: dict[str, Any], key: str, ref: str | None) -> float | None:
    value = frame.get(key)
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        message = f'"{key}" must be an ISO 8601 time such as "2025-01-31T00:00:00Z"'
        raise ProtocolError("bad_frame", message, ref=ref) from None
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


def _messages(raw: object, ref: str | None) -> tuple[MessageRef, ...]:
    shape = '"messages" must be a list of 1 to %d {"conversation": ..., "event": "e<number>"} from "inbox"'
    if not isinstance(raw, list) or not 0 < len(raw) <= MAX_MESSAGES:
        raise ProtocolError("bad_frame", shape % MAX_MESSAGES, ref=ref)
    refs: list[MessageRef] = []
    for item in raw:
        conversation = item.get("conversation") if isinstance(item, dict) else None
        event = item.get("event") if isinstance(item, dict) else None
        if not isinstance(conversation, str) or not 0 < len(conversation) <= MAX_ID:
            raise ProtocolError("bad_frame", shape % MAX_MESSAGES, ref=ref)
        if not isinstance(event, str) or not EVENT_ID.match(event):
            raise ProtocolError("bad_frame", shape % MAX_MESSAGES, ref=ref)
        refs.append(MessageRef(conversation, event))
    return tuple(refs)
