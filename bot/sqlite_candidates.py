"""The SQLite candidate store (see bot/candidates.py).

Its own connection in WAL mode, so it may share the conversation store's database file, used from
a single worker thread so the event loop never blocks on disk. ``sqlite3`` errors become
:class:`StoreError` with what to check.
"""

from __future__ import annotations

import asyncio
import builtins
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from bot.candidates import DEFAULT_LIMIT, Candidate, CandidateStatus, apply_decision, new_candidate_id, unknown
from bot.errors import StoreError

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


class SQLiteCandidateStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-candidates")
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> SQLiteCandidateStore:
        await self._run(self._connect)
        return self

    def _connect(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=5000")  # the conversation store may write to the same file
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(
                f"cannot open the candidate database {self.path} ({exc}); check the path exists and is writable "
                "(setting DESKMATE_DB_PATH)"
            ) from exc
        self._conn = conn

    async def _run(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn)

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the candidate store is not open; call `await store.open()` first")
        return self._conn

    def _guard(self, fn: Callable[[], T]) -> Callable[[], T]:
        def wrapped() -> T:
            try:
                return fn()
            except sqlite3.Error as exc:
                raise StoreError(f"database error on {self.path}: {exc}; check disk space and permissions") from exc

        return wrapped

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

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await self._run(conn.close)
        self._executor.shutdown(wait=False)


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
