"""Candidate KB entries as stored: the value types, the candidate store seam and its in-memory twin.

::

    CandidateStore               the seam: add, get, list, decide
    ├── InMemoryCandidateStore     the twin, here
    ├── SQLiteCandidateStore       bot/storage/sqlite/candidates.py
    └── PostgresCandidateStore     bot/storage/postgres/candidates.py

What a candidate is and how it is reviewed: bot/service/candidates.py. Decisions are final:
deciding a candidate again the same way returns it unchanged (so retries are safe), deciding it
otherwise raises :class:`~bot.errors.CandidateError`; :func:`apply_decision` is shared by every store.
"""

from __future__ import annotations

import asyncio
import builtins
import time
import uuid
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from bot.errors import CandidateError

DEFAULT_LIMIT = 50


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
