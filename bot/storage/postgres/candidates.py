"""The PostgreSQL candidate store (see bot/service/candidates.py), shared by every replica.

A decision locks the candidate's row (``SELECT ... FOR UPDATE``), so two admins deciding at once
on two replicas are checked one after the other. asyncpg errors become :class:`StoreError` with
what to check (bot/storage/postgres/pool.py).
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Mapping
from typing import Any

from bot.storage.candidates import DEFAULT_LIMIT, Candidate, CandidateStatus, apply_decision, new_candidate_id, unknown
from bot.storage.postgres.pool import Connection, PostgresBacked

SCHEMA = """
CREATE TABLE IF NOT EXISTS candidates (
    id text PRIMARY KEY,
    position bigint GENERATED ALWAYS AS IDENTITY,
    conversation_id text NOT NULL,
    question text NOT NULL,
    answer text NOT NULL,
    agent text NOT NULL,
    created_at double precision NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'approved', 'discarded')),
    decided_by text,
    decided_at double precision
);
CREATE INDEX IF NOT EXISTS candidates_status ON candidates (status, created_at);
"""
COLUMNS = "id, conversation_id, question, answer, agent, created_at, status, decided_by, decided_at"


class PostgresCandidateStore(PostgresBacked):
    schema = SCHEMA

    async def open(self) -> PostgresCandidateStore:
        await self._open()
        return self

    async def add(self, *, conversation_id: str, question: str, answer: str, agent: str) -> Candidate:
        candidate = Candidate(new_candidate_id(), conversation_id, question, answer, agent, time.time())

        async def insert(conn: Connection) -> Candidate:
            await conn.execute(
                f"INSERT INTO candidates ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                candidate.id,
                candidate.conversation_id,
                candidate.question,
                candidate.answer,
                candidate.agent,
                candidate.created_at,
                candidate.status.value,
                candidate.decided_by,
                candidate.decided_at,
            )
            return candidate

        return await self._run(insert, write=True)

    async def get(self, candidate_id: str) -> Candidate | None:
        async def select(conn: Connection) -> Candidate | None:
            row = await conn.fetchrow(f"SELECT {COLUMNS} FROM candidates WHERE id = $1", candidate_id)
            return None if row is None else _candidate(row)

        return await self._run(select)

    async def list(self, status: CandidateStatus | None = None, limit: int = DEFAULT_LIMIT) -> builtins.list[Candidate]:
        async def select(conn: Connection) -> builtins.list[Candidate]:
            rows = await conn.fetch(
                f"SELECT {COLUMNS} FROM candidates WHERE $1::text IS NULL OR status = $1"
                " ORDER BY created_at DESC, position DESC LIMIT $2",
                None if status is None else status.value,
                max(limit, 0),
            )
            return [_candidate(row) for row in rows]

        return await self._run(select)

    async def decide(
        self, candidate_id: str, status: CandidateStatus, by: str, *, answer: str | None = None
    ) -> Candidate:
        async def update(conn: Connection) -> Candidate:
            row = await conn.fetchrow(f"SELECT {COLUMNS} FROM candidates WHERE id = $1 FOR UPDATE", candidate_id)
            if row is None:
                raise unknown(candidate_id)
            current = _candidate(row)
            decided = apply_decision(current, status, by, answer=answer, at=time.time())
            if decided != current:
                await conn.execute(
                    "UPDATE candidates SET status = $1, answer = $2, decided_by = $3, decided_at = $4 WHERE id = $5",
                    decided.status.value,
                    decided.answer,
                    decided.decided_by,
                    decided.decided_at,
                    candidate_id,
                )
            return decided

        return await self._run(update, write=True)


def _candidate(row: Mapping[str, Any]) -> Candidate:
    decided_at = row["decided_at"]
    return Candidate(
        id=row["id"],
        conversation_id=row["conversation_id"],
        question=row["question"],
        answer=row["answer"],
        agent=row["agent"],
        created_at=float(row["created_at"]),
        status=CandidateStatus(row["status"]),
        decided_by=row["decided_by"],
        decided_at=None if decided_at is None else float(decided_at),
    )
