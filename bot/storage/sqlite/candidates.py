"""The SQLite candidate store (see bot/service/candidates.py).

Its own connection in WAL mode, so it may share the conversation store's database file, used from
a single worker thread so the event loop never blocks on disk. ``sqlite3`` errors become
:class:`StoreError` with what to check.
"""

from __future__ import annotations

import builtins
import time
from typing import TypeVar

from bot.storage.candidates import DEFAULT_LIMIT, Candidate, CandidateStatus, apply_decision, new_candidate_id, unknown
from bot.storage.sqlite.worker import SQLiteWorker

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS candidates (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    agent TEXT NOT NULL,
    created_at REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'discarded')),
    decided_by TEXT,
    decided_at REAL
);
CREATE INDEX IF NOT EXISTS candidates_status ON candidates (status, created_at);
"""
COLUMNS = "id, conversation_id, question, answer, agent, created_at, status, decided_by, decided_at"

_Row = tuple[str, str, str, str, str, float, str, str | None, float | None]


class SQLiteCandidateStore(SQLiteWorker):
    what = "candidate database"
    schema = SCHEMA

    async def open(self) -> SQLiteCandidateStore:
        await self._open()
        return self

    async def add(self, *, conversation_id: str, question: str, answer: str, agent: str) -> Candidate:
        candidate = Candidate(new_candidate_id(), conversation_id, question, answer, agent, time.time())

        def insert() -> Candidate:
            self._db.execute(
                f"INSERT INTO candidates ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", _values(candidate)
            )
            return candidate

        return await self._run(self._guard(insert))

    def _select(self, candidate_id: str) -> Candidate | None:
        row = self._db.execute(f"SELECT {COLUMNS} FROM candidates WHERE id = ?", (candidate_id,)).fetchone()
        return None if row is None else _candidate(row)

    async def get(self, candidate_id: str) -> Candidate | None:
        return await self._run(self._guard(lambda: self._select(candidate_id)))

    async def list(self, status: CandidateStatus | None = None, limit: int = DEFAULT_LIMIT) -> builtins.list[Candidate]:
        where, args = ("WHERE status = ?", (status.value,)) if status is not None else ("", ())

        def select() -> builtins.list[Candidate]:
            rows = self._db.execute(
                f"SELECT {COLUMNS} FROM candidates {where} ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (*args, max(limit, 0)),
            ).fetchall()
            return [_candidate(row) for row in rows]

        return await self._run(self._guard(select))

    async def decide(
        self, candidate_id: str, status: CandidateStatus, by: str, *, answer: str | None = None
    ) -> Candidate:
        def update() -> Candidate:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                current = self._select(candidate_id)
                if current is None:
                    raise unknown(candidate_id)
                decided = apply_decision(current, status, by, answer=answer, at=time.time())
                if decided != current:
                    db.execute(
                        "UPDATE candidates SET status = ?, answer = ?, decided_by = ?, decided_at = ? WHERE id = ?",
                        (decided.status.value, decided.answer, decided.decided_by, decided.decided_at, candidate_id),
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return decided

        return await self._run(self._guard(update))


def _values(c: Candidate) -> tuple[object, ...]:
    return (
        c.id,
        c.conversation_id,
        c.question,
        c.answer,
        c.agent,
        c.created_at,
        c.status.value,
        c.decided_by,
        c.decided_at,
    )


def _candidate(row: _Row) -> Candidate:
    cid, conversation_id, question, answer, agent, created_at, status, decided_by, decided_at = row
    return Candidate(
        id=cid,
        conversation_id=conversation_id,
        question=question,
        answer=answer,
        agent=agent,
        created_at=float(created_at),
        status=CandidateStatus(status),
        decided_by=decided_by,
        decided_at=None if decided_at is None else float(decided_at),
    )
