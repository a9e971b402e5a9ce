"""Learning from agents: candidate KB entries that an admin approves or discards.

When an agent answers a customer in a handed-off conversation, the customer's question and the
agent's answer are recorded as a *pending* :class:`Candidate`, de-identified first with the KB's
:class:`~retrieval.masking.Deidentifier` (personal values become ``{kind}`` placeholders), so
personal data enters neither the store nor the KB. An admin then approves it (editing the answer
if needed) or discards it. Approving appends the pair to the
KB folder's ``approved.jsonl`` (kb/approved.py); it becomes a retrieval pair at the next KB reload.

::

    CandidateStore             the seam: add, get, list, decide
    ├── InMemoryCandidateStore   the twin, here
    └── SQLiteCandidateStore     bot/sqlite_candidates.py
    CandidateReview            de-identifies what is recorded; approving also writes approved.jsonl

Decisions are final: deciding a candidate again the same way returns it unchanged (so retries are
safe), deciding it otherwise raises :class:`~bot.errors.CandidateError`.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from bot.errors import CandidateError
from bot.events import AGENT_MESSAGE, BOT_REPLY, CLARIFY, CUSTOMER_MESSAGE, HANDOFF, StoredEvent
from kb.approved import append_approved
from kb.masking import load_deidentifier
from kb.model import ApprovedPair
from retrieval.masking import Deidentifier

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 50
_REPLIES = (BOT_REPLY, CLARIFY, HANDOFF, AGENT_MESSAGE)  # what answers the customer messages before it


class CandidateStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DISCARDED = "discarded"


def parse_status(value: str) -> CandidateStatus:
    """The status named ``value`` (from a wire frame or the command line)."""
    try:
        return CandidateStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in CandidateStatus)
        raise CandidateError(f"unknown candidate status {value!r}; use one of {allowed}") from None


@dataclass(frozen=True)
class Candidate:
    """A (customer question, agent answer) pair waiting for, or given, an admin's decision."""

    id: str
    conversation_id: str
    question: str
    answer: str  # the agent's answer, or the admin's edit of it once approved
    agent: str
    created_at: float
    status: CandidateStatus = CandidateStatus.PENDING
    decided_by: str | None = None
    decided_at: float | None = None


class CandidateStore(Protocol):
    async def add(self, *, conversation_id: str, question: str, answer: str, agent: str) -> Candidate:
        """Store a new pending candidate; the texts are stored as given (de-identify them first)."""
        ...

    async def get(self, candidate_id: str) -> Candidate | None: ...

    async def list(self, status: CandidateStatus | None = None, limit: int = DEFAULT_LIMIT) -> builtins.list[Candidate]:
        """The most recent candidates (only those with ``status``, if given), newest first."""
        ...

    async def decide(
        self, candidate_id: str, status: CandidateStatus, by: str, *, answer: str | None = None
    ) -> Candidate:
        """Approve or discard a candidate; ``answer`` replaces the answer when approving.

        Raises :class:`CandidateError` for an unknown id or a decision that conflicts with an earlier one.
        """
        ...

    async def close(self) -> None: ...


def new_candidate_id() -> str:
    return f"cand_{uuid.uuid4().hex}"


def apply_decision(
    candidate: Candidate, status: CandidateStatus, by: str, *, answer: str | None, at: float
) -> Candidate:
    """``candidate`` after the decision (itself when it was already decided this way).

    ``answer`` is used when approving and ignored when discarding. Shared by every store, so they
    agree on what may be decided.
    """
    if status is CandidateStatus.PENDING:
        raise CandidateError("a decision is `approved` or `discarded`; candidates start out pending")
    if answer is not None and status is CandidateStatus.APPROVED:
        answer = answer.strip()
        if not answer:
            raise CandidateError(f"the edited answer of candidate {candidate.id} is empty; write the answer to approve")
    if candidate.status is CandidateStatus.PENDING:
        edited = answer if status is CandidateStatus.APPROVED and answer is not None else candidate.answer
        return replace(candidate, status=status, answer=edited, decided_by=by, decided_at=at)
    if candidate.status is not status:
        raise CandidateError(
            f"candidate {candidate.id} was already {candidate.status.value} by {candidate.decided_by}; "
            "decisions are final (edit approved.jsonl in the KB folder to change an approved pair)"
        )
    if status is CandidateStatus.APPROVED and answer is not None and answer != candidate.answer:
        raise CandidateError(
            f"candidate {candidate.id} is already approved with another answer; "
            "edit approved.jsonl in the KB folder to change it"
        )
    return candidate


def unknown(candidate_id: str) -> CandidateError:
    return CandidateError(f"no candidate {candidate_id!r}; list the pending ones to get their ids")


def open_question(events: Sequence[StoredEvent]) -> str | None:
    """The customer messages not answered yet (after the last bot or agent reply), one per line.

    Call it with a conversation's events before an agent's reply to get that reply's question;
    None when the customer has said nothing since the last reply.
    """
    texts: list[str] = []
    for event in events:
        if event.kind in _REPLIES:
            texts = []
        elif event.kind == CUSTOMER_MESSAGE:
            text = event.data.get("text")
            if isinstance(text, str) and text.strip():
                texts.append(text.strip())
    return "\n".join(texts) or None


class InMemoryCandidateStore:
    def __init__(self) -> None:
        self._items: dict[str, Candidate] = {}  # in insertion order
        self._lock = asyncio.Lock()

    async def add(self, *, conversation_id: str, question: str, answer: str, agent: str) -> Candidate:
        candidate = Candidate(new_candidate_id(), conversation_id, question, answer, agent, time.time())
        async with self._lock:
            self._items[candidate.id] = candidate
        return candidate

    async def get(self, candidate_id: str) -> Candidate | None:
        return self._items.get(candidate_id)

    async def list(self, status: CandidateStatus | None = None, limit: int = DEFAULT_LIMIT) -> builtins.list[Candidate]:
        newest_first = reversed(self._items.values())
        return [c for c in newest_first if status is None or c.status is status][: max(limit, 0)]

    async def decide(
        self, candidate_id: str, status: CandidateStatus, by: str, *, answer: str | None = None
    ) -> Candidate:
        async with self._lock:
            current = self._items.get(candidate_id)
            if current is None:
                raise unknown(candidate_id)
            decided = apply_decision(current, status, by, answer=answer, at=time.time())
            self._items[candidate_id] = decided
            return decided

    async def close(self) -> None:
        return None


class CandidateReview:
    """Records de-identified candidates and carries out the admin's decisions on them.

    ``kb_root`` is the KB source folder (the one reloads build from, not a build's copy): approved
    pairs are appended to its approved.jsonl. ``deidentifier`` defaults to the KB's
    (:func:`~kb.masking.load_deidentifier`). ``current``, when given, returns the de-identifier of
    the build being served, so candidates follow the KB's masking settings across reloads.
    """

    def __init__(
        self,
        store: CandidateStore,
        kb_root: str | Path,
        *,
        deidentifier: Deidentifier | None = None,
        current: Callable[[], Deidentifier | None] | None = None,
    ) -> None:
        self.store = store
        self.kb_root = Path(kb_root)
        self._deidentifier = deidentifier
        self._current = current
        self._lock = asyncio.Lock()  # one decision at a time: approved.jsonl is rewritten whole

    async def record(self, *, conversation_id: str, question: str, answer: str, agent: str) -> Candidate | None:
        """Store the de-identified pair as a pending candidate; None (nothing stored) when a text is empty.

        The two are de-identified together: a name the customer gave is masked in the answer too.
        """
        question, answer = self._deidentify(question, answer)
        if not question or not answer:
            return None
        candidate = await self.store.add(conversation_id=conversation_id, question=question, answer=answer, agent=agent)
        logger.info("candidate %s recorded from conversation %s (agent %s)", candidate.id, conversation_id, agent)
        return candidate

    async def approve(self, candidate_id: str, *, by: str, answer: str | None = None) -> Candidate:
        """Approve a candidate, with ``answer`` (de-identified) replacing the agent's if given, and add it to approved.jsonl.

        Approving again is harmless: the pair is written once. Raises :class:`CandidateError` when
        the candidate is unknown or was discarded, and
        :class:`~bot.errors.KBValidationError` when approved.jsonl has problems to fix first.
        """
        edited = None if answer is None else self._deidentify(answer)[0]
        async with self._lock:
            current = await self.store.get(candidate_id)
            if current is None:
                raise unknown(candidate_id)
            decided = apply_decision(current, CandidateStatus.APPROVED, by, answer=edited, at=time.time())
            pair = ApprovedPair(
                id=decided.id,
                question=decided.question,
                answer=decided.answer,
                agent=decided.agent,
                approved_at=decided.decided_at,
                conversation_id=decided.conversation_id,
            )
            # the file first: if the store fails afterwards, approving again finds the pair written
            written = await asyncio.to_thread(append_approved, self.kb_root, pair)
            stored = await self.store.decide(candidate_id, CandidateStatus.APPROVED, by, answer=edited)
        logger.info(
            "candidate %s approved by %s (%s)",
            candidate_id,
            by,
            "added to approved.jsonl" if written else "already there",
        )
        return stored

    async def discard(self, candidate_id: str, *, by: str) -> Candidate:
        """Discard a candidate; discarding again is harmless, discarding an approved one raises :class:`CandidateError`."""
        async with self._lock:
            stored = await self.store.decide(candidate_id, CandidateStatus.DISCARDED, by)
        logger.info("candidate %s discarded by %s", candidate_id, by)
        return stored

    @property
    def deidentifier(self) -> Deidentifier:
        served = self._current() if self._current is not None else None
        if served is not None:
            return served
        if self._deidentifier is None:
            self._deidentifier = load_deidentifier(self.kb_root)
        return self._deidentifier

    def _deidentify(self, *texts: str) -> list[str]:
        return [result.text.strip() for result in self.deidentifier.deidentify_all([t.strip() for t in texts])]
