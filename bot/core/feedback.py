"""Customers' feedback, checked against the conversation it is about: thumbs on a bot answer, and
one satisfaction score once the conversation is closed.

Pure functions over stored events; the conversation emits the events (``Conversation.rate``,
``Conversation.answer_survey``). Every refusal is a :class:`~bot.errors.ProtocolError` with a wire
code and what to do:

* a rating names a bot answer of this conversation (a reply, a clarification or a handoff; not the
  greeting) by its wire id (``e7``), ``up`` or ``down``, and each answer is rated once;
* the survey comes after the conversation was closed (by an agent, or the customer's "end chat"),
  once, with a score from 1 to 5.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.events import BOT_REPLY, CLARIFY, CLOSED, FEEDBACK, HANDOFF, SURVEY, StoredEvent
from bot.errors import ProtocolError

VALUES = ("up", "down")
SCORES = range(1, 6)
MAX_COMMENT = 1000
RATABLE = (BOT_REPLY, CLARIFY, HANDOFF)


def rated_answer(events: Sequence[StoredEvent], reply: str) -> StoredEvent:
    """The answer ``reply`` names, when it may be rated; else a ``bad_feedback`` refusal."""
    answer = next((e for e in events if e.id == reply and e.kind in RATABLE), None)
    if answer is None or answer.data.get("source") == "system":
        raise ProtocolError("bad_feedback", f"there is no answer {reply!r} to rate in this conversation")
    if any(e.kind == FEEDBACK and e.data.get("reply") == reply for e in events):
        raise ProtocolError("already_rated", "this answer was already rated; thank you")
    return answer


def check_survey(events: Sequence[StoredEvent]) -> None:
    """Refuse a survey before the conversation is closed, or a second one."""
    if not any(e.kind == CLOSED for e in events):
        raise ProtocolError("bad_feedback", "the chat can be rated once it has ended; use end chat first")
    if any(e.kind == SURVEY for e in events):
        raise ProtocolError("already_rated", "this chat was already rated; thank you")


def ratings(events: Sequence[StoredEvent]) -> dict[str, str]:
    """Answer id -> ``up`` or ``down``, for the answers rated so far (the widget shows them)."""
    return {
        str(e.data["reply"]): str(e.data["value"])
        for e in events
        if e.kind == FEEDBACK and isinstance(e.data.get("reply"), str)
    }
