"""The SQLite conversation store (the embedded default).

One connection in WAL mode, used from a single worker thread so the event loop never blocks on
disk. ``sqlite3`` errors become :class:`StoreError` with what to check.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import TypeVar

from bot.core.events import STATE_CHANGED, NewEvent, StoredEvent
from bot.errors import ConflictError
from bot.storage.reloads import ReloadRecord
from bot.storage.sqlite.worker import SQLiteWorker
from bot.storage.store import ConversationSummary, new_conversation_id

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'BOT',
    state_since REAL,
    state_data TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS events (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at REAL NOT NULL,
    client_id TEXT,
    PRIMARY KEY (conversation_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS events_client_id
    ON events (conversation_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_kind ON events (kind, created_at);
CREATE INDEX IF NOT EXISTS conversations_state ON conversations (state, state_since);
-- the insights figures (bot/storage/sqlite/insights.py): a period's conversations, each event kind's
-- conversations without reading the rows, and the few rows whose JSON a figure filters on
CREATE INDEX IF NOT EXISTS conversations_created ON conversations (created_at, id);
CREATE INDEX IF NOT EXISTS events_kind_conversation ON events (kind, created_at, conversation_id, seq);
CREATE INDEX IF NOT EXISTS events_fallback ON events (created_at, conversation_id, seq)
    WHERE kind = 'bot_reply' AND json_extract(data, '$.source') = 'fallback';
CREATE INDEX IF NOT EXISTS events_thumbs ON events (json_extract(data, '$.value'), created_at, conversation_id)
    WHERE kind = 'feedback';
CREATE INDEX IF NOT EXISTS events_intent ON events (json_extract(data, '$.intent'), created_at)
    WHERE kind = 'bot_reply' AND json_extract(data, '$.intent') IS NOT NULL
    AND COALESCE(json_extract(data, '$.source'), '') NOT IN ('fallback', 'system');
CREATE TABLE IF NOT EXISTS kb_reloads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    record TEXT NOT NULL
);
"""


class SQLiteStore(SQLiteWorker):
    what = "database"
    schema = SCHEMA

    async def open(self) -> SQLiteStore:
        await self._open()
        return self

    def _prepare(self, conn: sqlite3.Connection) -> None:
        _migrate(conn)

    async def create_conversation(self, token_hash: str) -> str:
        conversation_id = new_conversation_id()
        now = time.time()

        def insert() -> str:
            self._db.execute(
                "INSERT INTO conversations (id, token_hash, created_at, state_since) VALUES (?, ?, ?, ?)",
                (conversation_id, token_hash, now, now),
            )
            return conversation_id

        return await self._run(self._guard(insert))

    async def conversation_for_token(self, token_hash: str) -> str | None:
        def select() -> str | None:
            row = self._db.execute("SELECT id FROM conversations WHERE token_hash = ?", (token_hash,)).fetchone()
            return None if row is None else str(row[0])

        return await self._run(self._guard(select))

    async def append(
        self, conversation_id: str, events: Sequence[NewEvent], *, after: int | None = None
    ) -> list[StoredEvent]:
        def insert() -> list[StoredEvent]:
            db = self._db
            stored: list[StoredEvent] = []
            db.execute("BEGIN IMMEDIATE")
            try:
                (last,) = db.execute(
                    "SELECT COALESCE(MAX(seq), 0) FROM events WHERE conversation_id = ?", (conversation_id,)
                ).fetchone()
                if after is not None and last != after:
                    raise ConflictError(conversation_id, after, last)
                for event in events:
                    if event.client_id is not None:
                        existing = self._find(conversation_id, event.client_id)
                        if existing is not None:
                            stored.append(existing)
                            continue
                    last += 1
                    now = time.time()
                    db.execute(
                        "INSERT INTO events (conversation_id, seq, kind, data, created_at, client_id)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (conversation_id, last, event.kind, json.dumps(event.data), now, event.client_id),
                    )
                    stored.append(
                        StoredEvent(conversation_id, last, event.kind, dict(event.data), now, event.client_id)
                    )
                    if event.kind == STATE_CHANGED:
                        db.execute(
                            "UPDATE conversations SET state = ?, state_since = ?, state_data = ? WHERE id = ?",
                            (event.data["to"], now, json.dumps(event.data), conversation_id),
                        )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return stored

        return await self._run(self._guard(insert))

    def _find(self, conversation_id: str, client_id: str) -> StoredEvent | None:
        row = self._db.execute(
            "SELECT seq, kind, data, created_at, client_id FROM events WHERE conversation_id = ? AND client_id = ?",
            (conversation_id, client_id),
        ).fetchone()
        return None if row is None else _event(conversation_id, row)

    async def events(self, conversation_id: str) -> list[StoredEvent]:
        def select() -> list[StoredEvent]:
            rows = self._db.execute(
                "SELECT seq, kind, data, created_at, client_id FROM events WHERE conversation_id = ? ORDER BY seq",
                (conversation_id,),
            ).fetchall()
            return [_event(conversation_id, row) for row in rows]

        return await self._run(self._guard(select))

    async def find_customer_message(self, conversation_id: str, client_id: str) -> StoredEvent | None:
        return await self._run(self._guard(lambda: self._find(conversation_id, client_id)))

    async def conversations(self, states: Sequence[str]) -> list[ConversationSummary]:
        wanted = list(states)

        def select() -> list[ConversationSummary]:
            marks = ",".join("?" for _ in wanted)
            rows = self._db.execute(
                "SELECT id, state, state_since, created_at, state_data FROM conversations"
                f" WHERE state IN ({marks}) ORDER BY state_since",
                wanted,
            ).fetchall()
            return [
                ConversationSummary(str(i), str(st), float(since or created), float(created), json.loads(data))
                for i, st, since, created, data in rows
            ]

        return await self._run(self._guard(select)) if wanted else []

    async def events_of_kind(self, kind: str, limit: int = 100) -> list[StoredEvent]:
        def select() -> list[StoredEvent]:
            rows = self._db.execute(
                "SELECT conversation_id, seq, kind, data, created_at, client_id FROM events"
                " WHERE kind = ? ORDER BY created_at DESC LIMIT ?",
                (kind, limit),
            ).fetchall()
            return [_event(row[0], row[1:]) for row in rows]

        return await self._run(self._guard(select))

    async def record_reload(self, record: ReloadRecord) -> None:
        def insert() -> None:
            self._db.execute(
                "INSERT INTO kb_reloads (at, record) VALUES (?, ?)", (record.at, json.dumps(record.to_dict()))
            )

        await self._run(self._guard(insert))

    async def reloads(self, limit: int = 50) -> list[ReloadRecord]:
        def select() -> list[ReloadRecord]:
            rows = self._db.execute("SELECT record FROM kb_reloads ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
            return [ReloadRecord.from_dict(json.loads(row[0])) for row in rows]

        return await self._run(self._guard(select))


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a database made by an earlier version up to date (columns added since), in one transaction."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(conversations)")}
    if not columns or "state" in columns:
        return  # a new database (SCHEMA creates everything) or an up-to-date one
    conn.execute("BEGIN IMMEDIATE")
    try:
        for name, ddl in (
            ("state", "TEXT NOT NULL DEFAULT 'BOT'"),
            ("state_since", "REAL"),
            ("state_data", "TEXT NOT NULL DEFAULT '{}'"),
        ):
            if name not in columns:
                conn.execute(f"ALTER TABLE conversations ADD COLUMN {name} {ddl}")
        # fill the new columns from each conversation's last state change
        conn.execute(
            """
            UPDATE conversations SET
                state = COALESCE((SELECT json_extract(e.data, '$.to') FROM events e WHERE e.conversation_id = conversations.id
                                  AND e.kind = 'state_changed' ORDER BY e.seq DESC LIMIT 1), 'BOT'),
                state_since = COALESCE((SELECT e.created_at FROM events e WHERE e.conversation_id = conversations.id
                                        AND e.kind = 'state_changed' ORDER BY e.seq DESC LIMIT 1), created_at)
            """
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _event(conversation_id: str, row: tuple[int, str, str, float, str | None]) -> StoredEvent:
    seq, kind, data, created_at, client_id = row
    return StoredEvent(conversation_id, int(seq), kind, json.loads(data), float(created_at), client_id)
