"""bot.storage.store, bot.storage.sqlite.store and bot.storage.postgres.store: one contract for the in-memory twin, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.events import BOT_REPLY, CUSTOMER_MESSAGE, HANDOFF, STATE_CHANGED, NewEvent
from bot.errors import ConflictError, StoreError
from bot.storage.postgres.store import PostgresStore
from bot.storage.sqlite.store import SQLiteStore
from bot.storage.store import InMemoryStore, Store


def message(client_id: str, text: str) -> NewEvent:
    return NewEvent(CUSTOMER_MESSAGE, {"text": text}, client_id=client_id)


def reply(text: str) -> NewEvent:
    return NewEvent(BOT_REPLY, {"text": text, "source": "template", "ranking": [{"intent": "x", "p": 0.9}]})


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "memory":
        instance: Store = InMemoryStore()
    elif request.param == "sqlite":
        instance = await SQLiteStore(tmp_path / "db" / "deskmate.sqlite3").open()
    else:
        instance = await PostgresStore(request.getfixturevalue("postgres").new_database()).open()
    yield instance
    await instance.close()


async def test_token_lookup(store: Store) -> None:
    first = await store.create_conversation("hash-a")
    second = await store.create_conversation("hash-b")

    assert first != second
    assert first.startswith("c_")
    assert await store.conversation_for_token("hash-a") == first
    assert await store.conversation_for_token("hash-b") == second
    assert await store.conversation_for_token("hash-unknown") is None


async def test_append_keeps_order_and_numbers_events(store: Store) -> None:
    conversation = await store.create_conversation("hash-a")

    first = await store.append(conversation, [message("m1", "my kettle leaks"), reply("Sorry!")])
    second = await store.append(conversation, [reply("Anything else?"), NewEvent(STATE_CHANGED, {"to": "CLOSED"})])

    assert [e.seq for e in first] == [1, 2]
    assert [e.seq for e in second] == [3, 4]
    events = await store.events(conversation)
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert [e.kind for e in events] == [CUSTOMER_MESSAGE, BOT_REPLY, BOT_REPLY, STATE_CHANGED]
    assert [e.data.get("text") for e in events] == ["my kettle leaks", "Sorry!", "Anything else?", None]
    assert events[1].data["ranking"] == [{"intent": "x", "p": 0.9}]
    assert [e.client_id for e in events] == ["m1", None, None, None]
    assert [e.id for e in events] == ["m1", "e2", "e3", "e4"]
    assert all(e.conversation_id == conversation for e in events)
    assert events == [*first, *second]
    times = [e.created_at for e in events]
    assert times == sorted(times)


async def test_conversations_are_numbered_separately(store: Store) -> None:
    a = await store.create_conversation("hash-a")
    b = await store.create_conversation("hash-b")

    await store.append(a, [message("m1", "hi"), reply("hello")])
    (only,) = await store.append(b, [message("m1", "same id, other conversation")])

    assert only.seq == 1
    assert only.data["text"] == "same id, other conversation"
    assert len(await store.events(a)) == 2
    assert len(await store.events(b)) == 1


async def test_duplicate_client_id_returns_the_original(store: Store) -> None:
    conversation = await store.create_conversation("hash-a")
    (original,) = await store.append(conversation, [message("m1", "first text")])
    await store.append(conversation, [reply("answer")])

    (again,) = await store.append(conversation, [message("m1", "resent, maybe changed")])

    assert again == original
    assert again.data["text"] == "first text"
    assert len(await store.events(conversation)) == 2


async def test_duplicate_in_a_batch_is_skipped_and_the_rest_stored(store: Store) -> None:
    conversation = await store.create_conversation("hash-a")
    (original,) = await store.append(conversation, [message("m1", "hi")])

    result = await store.append(conversation, [message("m1", "hi"), message("m2", "new"), message("m2", "new")])

    assert result[0] == original
    assert result[1].seq == 2
    assert result[2] == result[1]
    assert [e.seq for e in await store.events(conversation)] == [1, 2]


async def test_find_customer_message(store: Store) -> None:
    conversation = await store.create_conversation("hash-a")
    await store.append(conversation, [message("m1", "hi"), reply("hello"), message("m2", "bye")])

    found = await store.find_customer_message(conversation, "m2")

    assert found is not None
    assert (found.seq, found.data["text"]) == (3, "bye")
    assert await store.find_customer_message(conversation, "m3") is None


async def test_events_of_a_new_conversation(store: Store) -> None:
    conversation = await store.create_conversation("hash-a")

    assert await store.events(conversation) == []
    assert await store.append(conversation, []) == []


async def test_unicode_and_nested_data_round_trip(store: Store) -> None:
    conversation = await store.create_conversation("hash-a")
    data = {"text": "Grüße — 🚀", "options": [{"intent": "a", "label": "Ä"}], "reason": None, "n": 1.5}

    await store.append(conversation, [NewEvent(HANDOFF, data)])

    (event,) = await store.events(conversation)
    assert event.data == data


async def test_sqlite_events_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "deskmate.sqlite3"
    store = await SQLiteStore(path).open()
    conversation = await store.create_conversation("hash-a")
    before = await store.append(conversation, [message("m1", "hi"), reply("hello")])
    await store.close()

    reopened = await SQLiteStore(path).open()
    try:
        assert await reopened.conversation_for_token("hash-a") == conversation
        assert await reopened.events(conversation) == before
        (dup,) = await reopened.append(conversation, [message("m1", "hi")])
        assert dup == before[0]
        (third,) = await reopened.append(conversation, [reply("still here")])
        assert third.seq == 3
    finally:
        await reopened.close()


async def test_sqlite_on_an_unwritable_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    store = SQLiteStore(blocker / "deskmate.sqlite3")

    with pytest.raises(StoreError) as info:
        await store.open()
    await store.close()

    text = str(info.value)
    assert str(blocker / "deskmate.sqlite3") in text
    assert "writable" in text
    assert "DESKMATE_DB_PATH" in text


async def test_sqlite_on_a_folder_path(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path)

    with pytest.raises(StoreError, match="cannot open the database"):
        await store.open()
    await store.close()


async def test_sqlite_used_before_open(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "x.sqlite3")

    with pytest.raises(StoreError, match="not open"):
        await store.events("c_x")
    await store.close()


async def test_sqlite_append_to_unknown_conversation_is_a_store_error(tmp_path: Path) -> None:
    store = await SQLiteStore(tmp_path / "x.sqlite3").open()
    try:
        with pytest.raises(StoreError, match="database error"):
            await store.append("c_missing", [reply("hi")])
    finally:
        await store.close()


async def test_reload_history_is_kept_newest_first(store: Store) -> None:
    from bot.storage.reloads import ReloadAction, ReloadOutcome, ReloadRecord

    first = ReloadRecord(1.0, "startup", ReloadAction.START, ReloadOutcome.SERVING, "kb-a", "ha")
    second = ReloadRecord(
        2.0, "admin", ReloadAction.RELOAD, ReloadOutcome.REJECTED, None, None, "intents.yml:3: bad", 0.5
    )
    await store.record_reload(first)
    await store.record_reload(second)

    assert await store.reloads() == [second, first]
    assert await store.reloads(limit=1) == [second]


async def test_conversations_are_listed_by_current_state_longest_waiting_first(store: Store) -> None:
    from bot.core.events import STATE_CHANGED

    first = await store.create_conversation("hash-1")
    second = await store.create_conversation("hash-2")
    third = await store.create_conversation("hash-3")
    waiting = {"from": "BOT", "to": "WAITING_FOR_AGENT", "reason": "low_confidence"}
    await store.append(second, [NewEvent(STATE_CHANGED, waiting)])
    await store.append(first, [NewEvent(STATE_CHANGED, waiting)])
    await store.append(third, [NewEvent(STATE_CHANGED, {"from": "BOT", "to": "WITH_AGENT", "agent": "sam"})])

    queue = await store.conversations(["WAITING_FOR_AGENT"])
    assert [c.id for c in queue] == [second, first]
    assert queue[0].data["reason"] == "low_confidence"
    assert [c.id for c in await store.conversations(["WITH_AGENT"])] == [third]
    assert {c.id for c in await store.conversations(["BOT", "WITH_AGENT"])} == {third}
    assert await store.conversations([]) == []


async def test_an_older_database_gets_the_state_columns_filled_from_its_events(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE conversations (id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, created_at REAL NOT NULL);
        CREATE TABLE events (conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
            data TEXT NOT NULL, created_at REAL NOT NULL, client_id TEXT, PRIMARY KEY (conversation_id, seq));
        INSERT INTO conversations VALUES ('c_old', 'h', 1.0);
        INSERT INTO events VALUES ('c_old', 1, 'state_changed', '{"from": "BOT", "to": "WAITING_FOR_AGENT"}', 5.0, NULL);
        """
    )
    conn.commit()
    conn.close()

    store = await SQLiteStore(path).open()
    try:
        (summary,) = await store.conversations(["WAITING_FOR_AGENT"])
        assert summary.id == "c_old" and summary.since == 5.0
    finally:
        await store.close()


async def test_events_of_one_kind_across_conversations_newest_first(store: Store) -> None:
    from bot.core.events import CONTACT_REQUEST

    first = await store.create_conversation("hash-1")
    second = await store.create_conversation("hash-2")
    await store.append(first, [NewEvent(CONTACT_REQUEST, {"email": "a@example.com", "text": "call me"}, "m1")])
    await store.append(second, [reply("hi")])
    await store.append(second, [NewEvent(CONTACT_REQUEST, {"email": "b@example.com", "text": "later"}, "m2")])

    inbox = await store.events_of_kind(CONTACT_REQUEST)
    assert [(e.conversation_id, e.data["email"]) for e in inbox] == [
        (second, "b@example.com"),
        (first, "a@example.com"),
    ]
    assert len(await store.events_of_kind(CONTACT_REQUEST, limit=1)) == 1


async def test_append_after_the_last_seen_event_guards_against_another_writer(store: Store) -> None:
    conversation = await store.create_conversation("hash-guard")
    await store.append(conversation, [message("m1", "hello")], after=0)

    with pytest.raises(ConflictError) as raised:
        await store.append(conversation, [reply("stale")], after=0)  # a writer that has not seen m1

    assert (raised.value.expected, raised.value.actual) == (0, 1)
    assert [e.seq for e in await store.events(conversation)] == [1]  # nothing of the stale batch stored
    stored = await store.append(conversation, [reply("fresh")], after=1)
    assert [e.seq for e in stored] == [2]
