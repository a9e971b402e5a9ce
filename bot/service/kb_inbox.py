"""The admin's KB inbox: what the bot got wrong, what agents taught it, and the fixes made to the KB.

:meth:`KBInbox.inbox` lists, for a period, the failed customer messages grouped by meaning
(bot/service/misunderstood.py), the agents' answers awaiting approval (bot/service/candidates.py)
and the changes made from here. An admin acts on failed messages, named by :class:`MessageRef`:

* :meth:`~KBInbox.add_to_intent`: they become examples of an existing intent;
* :meth:`~KBInbox.new_intent`: they become the examples of a new intent with one response;
* :meth:`~KBInbox.out_of_scope`: they join the out-of-scope list;
* :meth:`~KBInbox.dismiss`: nothing to learn from them.

The first three write the KB folder at once (kb/edits: validated by the loader first, refused with
its file:line issues) and are *pending* until a reload serves them: :meth:`KBInbox.apply` (the
admin page's "Apply and reload") runs the normal :class:`KBReloader` reload and, when it serves,
marks every change pending before it began as *applied* with the build id. A dismissal is recorded
only; it needs no reload. Every change, dismissals included, is kept in the KB folder's
``changes.jsonl`` (one JSON object a line, appended under a lock, the file replaced atomically):
who made it and when, the messages, the texts written. The messages of any recorded change stay
out of the groups, so the inbox shows what is left to do.

Customers' messages are shown to the admin as stored. What goes into the KB, and into
changes.jsonl, is de-identified first with the KB's de-identifier (personal values become
``{kind}`` placeholders), as for agents' answers; a dismissal records no text at all.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.core.events import CUSTOMER_MESSAGE, iso
from bot.errors import KBError, ProtocolError
from bot.service.candidates import CandidateReview
from bot.service.misunderstood import DISTANCE_THRESHOLD, Group, MessageRef, collect, group
from bot.service.reloader import KBReloader, ReloadResult
from bot.storage.candidates import Candidate, CandidateStatus
from bot.storage.reloads import ReloadOutcome
from bot.storage.store import Store
from kb.atomic import append_atomically, locked
from kb.edits import KBEdit, add_examples, add_out_of_scope, new_intent
from kb.masking import load_deidentifier
from retrieval.embedder import Embedder
from retrieval.privacy.masking import Deidentifier

logger = logging.getLogger(__name__)

CHANGES = "changes.jsonl"
RECENT_CHANGES = 50  # changes listed besides the pending ones, newest first


class FixAction(StrEnum):
    ADD_TO_INTENT = "add_to_intent"
    NEW_INTENT = "new_intent"
    OUT_OF_SCOPE = "out_of_scope"
    DISMISS = "dismiss"


class ChangeStatus(StrEnum):
    PENDING = "pending"  # written to the KB folder, not served yet
    APPLIED = "applied"  # served since the reload that built ``build``
    DISMISSED = "dismissed"  # a dismissal: nothing to serve


@dataclass(frozen=True)
class Change:
    """One admin action from the inbox, as changes.jsonl keeps it."""

    id: str
    action: FixAction
    admin: str  # who: "admin:USERNAME", or "admin" for the admin token
    at: float
    messages: tuple[MessageRef, ...]
    texts: tuple[str, ...] = ()  # the de-identified messages given to the KB (none for a dismissal)
    intent: str | None = None
    response: str | None = None
    edit: KBEdit | None = None  # what the KB folder got (None for a dismissal)
    build: str | None = None  # the build that serves it, once applied
    applied_at: float | None = None
    applied_by: str | None = None

    @property
    def status(self) -> ChangeStatus:
        if self.action is FixAction.DISMISS:
            return ChangeStatus.DISMISSED
        return ChangeStatus.PENDING if self.build is None else ChangeStatus.APPLIED

    def to_dict(self) -> dict[str, Any]:
        """As the admin websocket sends it (times in ISO 8601)."""
        return {
            "id": self.id,
            "action": self.action.value,
            "status": self.status.value,
            "admin": self.admin,
            "at": iso(self.at),
            "messages": [ref.to_dict() for ref in self.messages],
            "texts": list(self.texts),
            "intent": self.intent,
            "response": self.response,
            "added": list(self.edit.added) if self.edit else [],
            "skipped": list(self.edit.skipped) if self.edit else [],
            "build": self.build,
            "applied_at": iso(self.applied_at) if self.applied_at is not None else None,
            "applied_by": self.applied_by,
        }

    def line(self) -> str:
        """As one line of changes.jsonl."""
        obj = {
            "id": self.id,
            "action": self.action.value,
            "admin": self.admin,
            "at": self.at,
            "messages": [ref.to_dict() for ref in self.messages],
            "texts": list(self.texts),
            "intent": self.intent,
            "response": self.response,
            "edit": self.edit.to_dict() if self.edit else None,
        }
        return json.dumps(obj, ensure_ascii=False)

    @classmethod
    def from_line(cls, obj: dict[str, Any]) -> Change:
        return cls(
            id=str(obj["id"]),
            action=FixAction(obj["action"]),
            admin=str(obj["admin"]),
            at=float(obj["at"]),
            messages=tuple(MessageRef(str(m["conversation"]), str(m["event"])) for m in obj["messages"]),
            texts=tuple(str(t) for t in obj.get("texts", ())),
            intent=obj.get("intent"),
            response=obj.get("response"),
            edit=KBEdit.from_dict(obj["edit"]) if obj.get("edit") else None,
        )


class ChangeLog:
    """changes.jsonl of a KB folder: change lines, and ``{"applied": [ids], "build", "by", "at"}`` lines."""

    def __init__(self, kb_root: str | Path) -> None:
        self.path = Path(kb_root) / CHANGES
        self._lock = Path(kb_root) / f".{CHANGES}.lock"

    def read(self) -> list[Change]:
        """Every change, oldest first, with what was applied folded in (a damaged line is skipped and logged)."""
        if not self.path.is_file():
            return []
        changes: dict[str, Change] = {}
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if "applied" in obj:
                    for change_id in obj["applied"]:
                        if change_id in changes:
                            applied = {
                                "build": str(obj["build"]),
                                "applied_at": float(obj["at"]),
                                "applied_by": obj.get("by"),
                            }
                            changes[change_id] = replace(changes[change_id], **applied)
                else:
                    change = Change.from_line(obj)
                    changes[change.id] = change
            except (ValueError, KeyError, TypeError) as exc:
                logger.warning("%s:%d: skipped a damaged line (%s); fix or remove it", self.path, number, exc)
        return list(changes.values())

    def append(self, change: Change) -> None:
        with self._locked():
            append_atomically(self.path, [change.line()])

    def mark_applied(self, ids: Sequence[str], *, build: str, by: str, at: float) -> None:
        with self._locked():
            line = json.dumps({"applied": list(ids), "build": build, "by": by, "at": at}, ensure_ascii=False)
            append_atomically(self.path, [line])

    def _locked(self) -> AbstractContextManager[None]:
        return locked(self._lock)


@dataclass(frozen=True)
class Inbox:
    groups: list[Group]
    candidates: list[Candidate]  # agents' answers awaiting approval
    changes: list[Change]  # the pending ones, then the RECENT_CHANGES latest others; newest first
    since: float | None = None
    until: float | None = None


@dataclass(frozen=True)
class Applied:
    """An "Apply and reload": the reload's result and the changes it applied (none unless it serves)."""

    result: ReloadResult
    applied: tuple[str, ...] = field(default=())


class KBInbox:
    """The inbox over one store and one KB source folder (the folder reloads build from).

    ``embedder`` returns the embedder to group with: the served brain's (:meth:`for_reloader`).
    ``current``, when given, returns the served build's de-identifier, else the KB folder's is used.
    """

    def __init__(
        self,
        store: Store,
        kb_root: str | Path,
        *,
        embedder: Callable[[], Embedder],
        reloader: KBReloader | None = None,
        review: CandidateReview | None = None,
        deidentifier: Deidentifier | None = None,
        current: Callable[[], Deidentifier | None] | None = None,
        clock: Callable[[], float] = time.time,
        threshold: float = DISTANCE_THRESHOLD,
    ) -> None:
        self.store = store
        self.kb_root = Path(kb_root)
        self.log = ChangeLog(self.kb_root)
        self.reloader = reloader
        self.review = review
        self._embedder = embedder
        self._deidentifier = deidentifier
        self._current = current
        self._clock = clock
        self._threshold = threshold

    @classmethod
    def for_reloader(cls, reloader: KBReloader, *, review: CandidateReview | None = None) -> KBInbox:
        """The inbox of a running service: its store, its KB folder, its served brain's embedder."""
        service = reloader.service
        return cls(
            service.store,
            reloader.kb_path,
            embedder=lambda: service.brain.retriever.embedder,
            reloader=reloader,
            review=review,
            current=lambda: service.brain.deidentifier,
        )

    async def inbox(self, *, since: float | None = None, until: float | None = None) -> Inbox:
        """The groups of the messages failed in [since, until), the pending candidates, the changes."""
        changes = await asyncio.to_thread(self.log.read)
        handled = {ref for change in changes for ref in change.messages}
        failed = await collect(self.store, since=since, until=until, now=self._clock(), exclude=handled)
        groups = await asyncio.to_thread(group, failed, self._embedder(), threshold=self._threshold)
        candidates = await self.review.store.list(CandidateStatus.PENDING) if self.review is not None else []
        return Inbox(groups, candidates, listed(changes), since, until)

    async def changes(self) -> list[Change]:
        return listed(await asyncio.to_thread(self.log.read))

    async def add_to_intent(self, messages: Sequence[MessageRef], intent: str, *, admin: str) -> Change:
        refs, texts = await self._texts(messages)
        edit = await asyncio.to_thread(add_examples, self.kb_root, intent, texts)
        return await self._record(FixAction.ADD_TO_INTENT, admin, refs, texts, edit, intent=intent)

    async def new_intent(
        self, name: str, response: str, messages: Sequence[MessageRef], *, admin: str, label: str | None = None
    ) -> Change:
        refs, texts = await self._texts(messages)
        edit = await asyncio.to_thread(new_intent, self.kb_root, name, texts, response, label=label)
        return await self._record(FixAction.NEW_INTENT, admin, refs, texts, edit, intent=name, response=edit.response)

    async def out_of_scope(self, messages: Sequence[MessageRef], *, admin: str) -> Change:
        refs, texts = await self._texts(messages)
        edit = await asyncio.to_thread(add_out_of_scope, self.kb_root, texts)
        return await self._record(FixAction.OUT_OF_SCOPE, admin, refs, texts, edit)

    async def dismiss(self, messages: Sequence[MessageRef], *, admin: str) -> Change:
        refs, _ = await self._texts(messages, deidentify=False)
        return await self._record(FixAction.DISMISS, admin, refs, (), None)

    async def apply(self, admin: str) -> Applied:
        """Reload the KB folder (the normal reload); once it serves, the changes pending before it are applied.

        Raises :class:`~bot.errors.ReloadBusyError` while another reload runs.
        """
        if self.reloader is None:
            raise KBError("reloading the KB is off on this server; restart deskmate serve to use the changes")
        pending = [c.id for c in await asyncio.to_thread(self.log.read) if c.status is ChangeStatus.PENDING]
        result = await self.reloader.reload(actor=admin)
        build = result.record.build_id
        if result.record.outcome is not ReloadOutcome.SERVING or build is None or not pending:
            return Applied(result)
        await asyncio.to_thread(self.log.mark_applied, pending, build=build, by=admin, at=self._clock())
        logger.info("inbox: %d change(s) applied by %s, serving %s", len(pending), admin, build)
        return Applied(result, tuple(pending))

    @property
    def deidentifier(self) -> Deidentifier:
        served = self._current() if self._current is not None else None
        if served is not None:
            return served
        if self._deidentifier is None:
            self._deidentifier = load_deidentifier(self.kb_root)
        return self._deidentifier

    async def _texts(
        self, messages: Sequence[MessageRef], *, deidentify: bool = True
    ) -> tuple[tuple[MessageRef, ...], tuple[str, ...]]:
        """The messages (each once) and their texts, de-identified; refuses what is not a customer message."""
        refs = tuple(dict.fromkeys(messages))
        if not refs:
            raise ProtocolError("bad_frame", "name at least one customer message")
        texts: list[str] = []
        logs: dict[str, dict[str, str]] = {}
        for ref in refs:
            if ref.conversation not in logs:
                events = await self.store.events(ref.conversation)
                logs[ref.conversation] = {
                    f"e{e.seq}": str(e.data.get("text", "")) for e in events if e.kind == CUSTOMER_MESSAGE
                }
            text = logs[ref.conversation].get(ref.event)
            if text is None:
                message = (
                    f"there is no customer message {ref.event} in conversation {ref.conversation}; refresh the inbox"
                )
                raise ProtocolError("unknown_message", message)
            texts.append(text)
        if not deidentify:
            return refs, ()
        deidentifier = self.deidentifier
        return refs, tuple(deidentifier.deidentify(text).text.strip() for text in texts)

    async def _record(
        self,
        action: FixAction,
        admin: str,
        refs: tuple[MessageRef, ...],
        texts: tuple[str, ...],
        edit: KBEdit | None,
        *,
        intent: str | None = None,
        response: str | None = None,
    ) -> Change:
        change = Change(
            f"chg_{uuid.uuid4().hex[:12]}", action, admin, self._clock(), refs, texts, intent, response, edit
        )
        await asyncio.to_thread(self.log.append, change)
        written = f", {len(edit.added)} written" if edit is not None else ""
        logger.info("inbox: %s %s %d message(s)%s (%s)", admin, action.value, len(refs), written, change.id)
        return change


def listed(changes: Sequence[Change], *, recent: int = RECENT_CHANGES) -> list[Change]:
    """The pending changes and the ``recent`` latest others, newest first."""
    newest = sorted(changes, key=lambda c: -c.at)
    others = [c for c in newest if c.status is not ChangeStatus.PENDING][:recent]
    keep = {c.id for c in others}
    return [c for c in newest if c.status is ChangeStatus.PENDING or c.id in keep]
