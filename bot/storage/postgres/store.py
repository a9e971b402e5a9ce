"""The PostgreSQL conversation store: several replicas sharing one database.

Appends to one conversation are serialised across processes by locking its row
(``SELECT ... FOR UPDATE``) in the append's transaction, so sequence numbers never collide, the
``after`` guard is checked atomically, and a customer message id sent twice at once is stored once.
Event data is kept as JSON text and times as ``double precision``, exactly as SQLite keeps them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from bot.core.events import STATE_CHANGED, NewEvent, StoredEvent
from bot.errors import ConflictError, StoreError
from bot.storage.postgres.pool import Connection, PostgresBacked
from bot.storage.reloads import ReloadRecord
from bot.storage.store import ConversationSummary, new_conversation_id

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id text PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    created_at double precision NOT NULL,
    state text NOT NULL DEFAULT 'BOT',
    state_since double precision NOT NULL,
    state_data text NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS events (
    conversation_id text NOT NULL REFERENCES conversations(id),
    seq integer NOT NULL,
    kind text NOT NULL,
    data text NOT NULL,
    created_at double precision NOT NULL,
    client_id text,
    PRIMARY KEY (conversation_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS events_client_id
    ON events (conversation_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_kind ON events (kind, created_at);
CREATE INDEX IF NOT EXISTS conversations_state ON conversations (state, state_since);
-- the insights figures (bot/storage/postgres/insights.py): a period's conversations, each event kind's
-- conversations from the index alone, and the few rows whose JSON a figure filters on
CREATE INDEX IF NOT EXISTS conversations_created ON conversations (created_at, id);
CREATE INDEX IF NOT EXISTS events_kind_conversation ON events (kind, created_at, conversation_id, seq);
CREATE INDEX IF NOT EXISTS events_fallback ON events (created_at, conversation_id, seq)
    WHERE kind = 'bot_reply' AND (data::jsonb ->> 'source') = 'fallback';
CREATE INDEX IF NOT EXISTS events_thumbs ON events ((data::jsonb ->> 'value'), created_at, conversation_id)
    WHERE kind = 'feedback';
CREATE INDEX IF NOT EXISTS events_intent ON events ((data::jsonb ->> 'intent'), created_at)
    WHERE kind = 'bot_reply' AND (data::jsonb ->> 'intent') IS NOT NULL
    AND COALESCE(data::jsonb ->> 'source', '') NOT IN ('fallback', 'system');
CREATE TABLE IF NOT EXISTS kb_reloads (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at double precision NOT NULL,
    record text NOT NULL
);
"""
EVENT_COLUMNS = "seq, kind, data, created_at, client_id"


class PostgresStore(PostgresBacked):
    schema = SCHEMA

    async def open(self) -> PostgresStore:
        await self._open()
        return self

    async def create_conversation(self, token_hash: str) -> str:
        conversation_id = new_conversation_id()
        now = time.time()

        async def insert(conn: Connection) -> str:
            try:
                await conn.execute(
                    "INSERT INTO conversations (id, token_hash, created_at, state_since) VALUES ($1, $2, $3, $3)",
                    conversation_id,
                    token_hash,
                    now,
                )
            except asyncpg.UniqueViolationError as exc:
                raise StoreError("a conversation with this session token already exists") from exc
            return conversation_id

        return await self._run(insert, write=True)

    async def conversation_for_token(self, token_hash: str) -> str | None:
        async def select(conn: Connection) -> str | None:
            found = await conn.fetchval("SELECT id FROM conversations WHERE token_hash = $1", token_hash)
            return None if found is None else str(found)

        return await self._run(select)

    async def append(
        self, conversation_id: str, events: Sequence[NewEvent], *, after: int | None = None
    ) -> list[StoredEvent]:
        batch = list(events)

        async def insert(conn: Connection) -> list[StoredEvent]:
            # the row lock makes every other writer of this conversation wait for our commit; the
            # statements after it see what the writers before us committed
            locked = await conn.fetchval("SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE", conversation_id)
            if locked is None:
                raise StoreError(f"no conversation {conversation_id}; create it first")
            last = int(
                await conn.fetchval(
                    "SELECT COALESCE(MAX(seq), 0) FROM events WHERE conversation_id = $1", conversation_id
                )
            )
            if after is not None and last != after:
                raise ConflictError(conversation_id, after, last)
            known = await self._find_many(conn, conversation_id, [e.client_id for e in batch if e.client_id])
            stored: list[StoredEvent] = []
            new: list[StoredEvent] = []
            for event in batch:
                if event.client_id is not None and event.client_id in known:
                    stored.append(known[event.client_id])
                    continue
                last += 1
                item = StoredEvent(conversation_id, last, event.kind, dict(event.data), time.time(), event.client_id)
                if item.client_id is not None:
                    known[item.client_id] = item
                new.append(item)
                stored.append(item)
            if new:
                await conn.executemany(
                    f"INSERT INTO events (conversation_id, {EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)",
                    [(conversation_id, e.seq, e.kind, json.dumps(e.data), e.created_at, e.client_id) for e in new],
                )
            changes = [e for e in new if e.kind == STATE_CHANGED]
            if changes:
                change = changes[-1]
                await conn.execute(
                    "UPDATE conversations SET state = $1, state_since = $2, state_data = $3 WHERE id = $4",
                    change.data["to"],
                    change.created_at,
                    json.dumps(change.data),
                    conversation_id,
                )
            return stored

        return await self._run(insert, write=True)

    async def _find_many(self, conn: Connection, conversation_id: str, client_ids: list[str]) -> dict[str, StoredEvent]:
        if not client_ids:
            return {}
        rows = await conn.fetch(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE conversation_id = $1 AND client_id = ANY($2::text[])",
            conversation_id,
            client_ids,
        )
        return {row["client_id"]: _event(conversation_id, row) for row in rows}

    async def events(self, conversation_id: str) -> list[StoredEvent]:
        async def select(conn: Connection) -> list[StoredEvent]:
            rows = await conn.fetch(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE conversation_id = $1 ORDER BY seq", conversation_id
            )
            return [_event(conversation_id, row) for row in rows]

        return await self._run(select)

    async def find_customer_message(self, conversation_id: str, client_id: str) -> StoredEvent | None:
        async def select(conn: Connection) -> StoredEvent | None:
            return (await self._find_many(conn, conversation_id, [client_id])).get(client_id)

        return await self._run(select)

    async def conversations(self, states: Sequence[str]) -> list[ConversationSummary]:
        wanted = list(states)

        async def select(conn: Connection) -> list[ConversationSummary]:
            rows = await conn.fetch(
                "SELECT id, state, state_since, created_at, state_data FROM conversations"
                " WHERE state = ANY($1::text[]) ORDER BY state_since",
                wanted,
            )
            return [
                ConversationSummary(
                    row["id"],
                    row["state"],
                    float(row["state_since"]),
                    float(row["created_at"]),
                    json.loads(row["state_data"]),
                )
                for row in rows
            ]

        return await self._run(select) if wanted else []

    async def events_of_kind(self, kind: str, limit: int = 100) -> list[StoredEvent]:
        async def select(conn: Connection) -> list[StoredEvent]:
            rows = await conn.fetch(
                f"SELECT conversation_id, {EVENT_COLUMNS} FROM events WHERE kind = $1"
                " ORDER BY created_at DESC LIMIT $2",
                kind,
                max(limit, 0),
            )
            return [_event(row["conversation_id"], row) for row in rows]

        return await self._run(select)

    async def record_reload(self, record: ReloadRecord) -> None:
        async def insert(conn: Connection) -> None:
            await conn.execute(
                "INSERT INTO kb_reloads (at, record) VALUES ($1, $2)", record.at, json.dumps(record.to_dict())
            )

        await self._run(insert, write=True)

    async def reloads(self, limit: int = 50) -> list[ReloadRecord]:
        async def select(conn: Connection) -> list[ReloadRecord]:
            rows = await conn.fetch("SELECT record FROM kb_reloads ORDER BY id DESC LIMIT $1", max(limit, 0))
            return [ReloadRecord.from_dict(json.loads(row["record"])) for row in rows]

        return await self._run(select)


def _event(conversation_id: str, row: Mapping[str, Any]) -> StoredEvent:
    return StoredEvent(
        conversation_id,
        int(row["seq"]),
        str(row["kind"]),
        json.loads(row["data"]),
        float(row["created_at"]),
        row["client_id"],
    )
