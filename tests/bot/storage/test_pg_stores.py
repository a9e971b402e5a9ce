"""The PostgreSQL stores beyond the shared contract: replicas racing, restarts, bad URLs (real servers, no mocks)."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from bot.cli.main import main
from bot.core.events import BOT_REPLY, CUSTOMER_MESSAGE, STATE_CHANGED, NewEvent
from bot.errors import ConflictError, StoreError
from bot.ops.config import Settings
from bot.storage.accounts import Account, Role
from bot.storage.factory import open_stores
from bot.storage.postgres.accounts import PostgresAccountStore
from bot.storage.postgres.candidates import PostgresCandidateStore
from bot.storage.postgres.pool import PostgresPool, describe, mask_dsn
from bot.storage.postgres.store import PostgresStore
from bot.storage.sqlite.store import SQLiteStore
from tests.services import PostgresServer, free_port

PASSWORD = "correct horse battery"


def message(client_id: str, text: str) -> NewEvent:
    return NewEvent(CUSTOMER_MESSAGE, {"text": text}, client_id=client_id)


def reply(text: str) -> NewEvent:
    return NewEvent(BOT_REPLY, {"text": text, "source": "template"})


@pytest.fixture
def dsn(postgres: PostgresServer) -> str:
    return postgres.new_database()


@pytest.fixture
async def replicas(dsn: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    """Two stores on one database, each with its own pool: two Deskmate processes."""
    first, second = await PostgresStore(dsn).open(), await PostgresStore(dsn).open()
    yield first, second
    await first.close()
    await second.close()


@pytest.fixture(scope="module")
def own_server() -> Iterator[PostgresServer]:
    """A server of this module's own, stopped and restarted by the tests (never the session's)."""
    server = PostgresServer()
    yield server
    server.close()


async def durable_database(server: PostgresServer) -> str:
    """A new database whose commits survive a crash (the test servers run with ``synchronous_commit = off``)."""
    dsn = server.new_database()
    conn = await asyncpg.connect(server.dsn())
    try:
        await conn.execute(f"ALTER DATABASE {dsn.rpartition('/')[2]} SET synchronous_commit = on")
    finally:
        await conn.close()
    return dsn


# -- replicas sharing one database ------------------------------------------------------------


async def test_appends_from_two_replicas_at_once_never_collide(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    first, second = replicas
    conversation = await first.create_conversation("hash")

    batches = await asyncio.gather(
        *((first if n % 2 else second).append(conversation, [reply(f"{n}a"), reply(f"{n}b")]) for n in range(20))
    )

    events = await second.events(conversation)
    assert [e.seq for e in events] == list(range(1, 41))
    assert sorted(e.seq for batch in batches for e in batch) == list(range(1, 41))
    for batch in batches:  # a batch stays together, in order
        assert batch[1].seq == batch[0].seq + 1
        assert batch[0].data["text"][:-1] == batch[1].data["text"][:-1]
    assert events == await first.events(conversation)


async def test_a_stale_after_goes_to_exactly_one_of_two_racing_writers(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    first, second = replicas
    conversation = await first.create_conversation("hash")

    for seen in range(5):
        results = await asyncio.gather(
            first.append(conversation, [reply(f"first {seen}")], after=seen),
            second.append(conversation, [reply(f"second {seen}")], after=seen),
            return_exceptions=True,
        )
        conflicts = [r for r in results if isinstance(r, ConflictError)]
        stored = [r for r in results if isinstance(r, list)]
        assert len(conflicts) == 1 and len(stored) == 1, results
        assert (conflicts[0].expected, conflicts[0].actual) == (seen, seen + 1)
        assert [e.seq for e in stored[0]] == [seen + 1]

    assert [e.seq for e in await first.events(conversation)] == [1, 2, 3, 4, 5]


async def test_a_message_sent_twice_to_two_replicas_is_stored_once(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    first, second = replicas
    conversation = await first.create_conversation("hash")

    for n in range(5):
        (one,), (other,) = await asyncio.gather(
            first.append(conversation, [message(f"m{n}", "from replica one")]),
            second.append(conversation, [message(f"m{n}", "from replica two")]),
        )
        assert one == other

    events = await first.events(conversation)
    assert [e.client_id for e in events] == ["m0", "m1", "m2", "m3", "m4"]


async def test_replicas_starting_at_once_create_the_tables_once(dsn: str) -> None:
    kinds = (PostgresStore, PostgresAccountStore, PostgresCandidateStore) * 4

    opened = await asyncio.gather(*(kind(dsn).open() for kind in kinds), return_exceptions=True)

    for each in opened:
        if not isinstance(each, BaseException):
            await each.close()
    assert [each for each in opened if isinstance(each, BaseException)] == []


async def test_a_state_change_is_summarised_for_every_replica(replicas: tuple[PostgresStore, PostgresStore]) -> None:
    first, second = replicas
    conversation = await first.create_conversation("hash")

    await first.append(conversation, [NewEvent(STATE_CHANGED, {"from": "BOT", "to": "WAITING_FOR_AGENT"})])

    (summary,) = await second.conversations(["WAITING_FOR_AGENT"])
    assert (summary.id, summary.data["to"]) == (conversation, "WAITING_FOR_AGENT")


# -- the factory and reopening ----------------------------------------------------------------


async def test_everything_survives_reopening(dsn: str, tmp_path: Path) -> None:
    settings = Settings(database_url=dsn, data_dir=tmp_path)
    stores = await open_stores(settings)
    assert isinstance(stores.store, PostgresStore) and stores.pool is not None
    conversation = await stores.store.create_conversation("hash")
    before = await stores.store.append(conversation, [message("m1", "hi"), reply("hello")])
    await stores.accounts.create(Account("ann", "Ann", Role.ADMIN, 1.0), "argon2-hash")
    candidate = await stores.candidates.add(conversation_id=conversation, question="q?", answer="a.", agent="ann")
    await stores.close()

    reopened = await open_stores(settings)
    try:
        assert await reopened.store.conversation_for_token("hash") == conversation
        assert await reopened.store.events(conversation) == before
        (third,) = await reopened.store.append(conversation, [reply("still here")], after=2)
        assert third.seq == 3
        stored = await reopened.accounts.get("ann")
        assert stored is not None and stored.password_hash == "argon2-hash"
        assert await reopened.candidates.get(candidate.id) == candidate
    finally:
        await reopened.close()
    assert not list(tmp_path.iterdir())  # no SQLite file beside it


async def test_without_a_url_the_stores_are_sqlite(tmp_path: Path) -> None:
    stores = await open_stores(Settings(data_dir=tmp_path))
    try:
        assert isinstance(stores.store, SQLiteStore) and stores.pool is None
        assert stores.where == str(tmp_path / "deskmate.sqlite3")
    finally:
        await stores.close()


async def test_the_factory_never_shows_the_password(postgres: PostgresServer) -> None:
    dsn = postgres.dsn("deskmate").replace("postgres@", "postgres:s3cret-pw@")

    with pytest.raises(StoreError) as raised:
        await open_stores(Settings(database_url=dsn))

    assert "s3cret-pw" not in str(raised.value)
    assert "s3cret-pw" not in repr(PostgresPool(dsn))
    assert "s3cret-pw" not in repr(Settings(database_url=dsn))


# -- the server going away --------------------------------------------------------------------


async def test_calls_fail_clearly_while_the_server_is_down_and_work_once_it_is_back(
    own_server: PostgresServer,
) -> None:
    stores = await open_stores(Settings(database_url=await durable_database(own_server)))
    conversation = await stores.store.create_conversation("hash")
    await stores.store.append(conversation, [message("m1", "hi")])

    await asyncio.to_thread(own_server.stop, mode="immediate")
    try:
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "events": lambda: stores.store.events(conversation),
            "append": lambda: stores.store.append(conversation, [reply("lost?")]),
            "account": lambda: stores.accounts.get("ann"),
            "candidates": lambda: stores.candidates.list(),
        }
        for name, call in calls.items():
            started = time.monotonic()
            with pytest.raises(StoreError) as raised:
                await call()
            assert time.monotonic() - started < 3.0, name
            assert str(raised.value) == (
                f"cannot reach PostgreSQL at 127.0.0.1:{own_server.port} (connection refused); "
                "check DESKMATE_DATABASE_URL and that the server is running"
            )
    finally:
        await asyncio.to_thread(own_server.start)

    try:
        (second,) = await stores.store.append(conversation, [reply("back")], after=1)  # the store was not reopened
        assert second.seq == 2
        assert [e.seq for e in await stores.store.events(conversation)] == [1, 2]
        assert await stores.accounts.list() == []
        assert await stores.candidates.list() == []
    finally:
        await stores.close()


async def test_a_restart_between_two_calls_goes_unnoticed(own_server: PostgresServer) -> None:
    store = await PostgresStore(await durable_database(own_server)).open()
    try:
        conversation = await store.create_conversation("hash")
        # the event loop does not run in between: the pooled connection is broken but not known to be
        own_server.stop(mode="immediate")
        own_server.start()

        (first,) = await store.append(conversation, [message("m1", "hi")], after=0)

        assert first.seq == 1
        assert await store.events(conversation) == [first]
    finally:
        await store.close()


async def test_a_lock_held_too_long_times_out_with_a_clear_message(dsn: str) -> None:
    store = await PostgresStore(PostgresPool(dsn, command_timeout=0.5)).open()
    conversation = await store.create_conversation("hash")
    blocker = await asyncpg.connect(dsn)
    try:
        async with blocker.transaction():
            await blocker.execute("SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE", conversation)
            with pytest.raises(StoreError, match=r"did not answer within 0\.5 s; check the server's load"):
                await store.append(conversation, [reply("waiting")])
        (stored,) = await store.append(conversation, [reply("free again")])
        assert stored.seq == 1
    finally:
        await blocker.close()
        await store.pool.close()


# -- wrong settings and misuse ----------------------------------------------------------------


async def test_a_wrong_url_says_what_to_check(postgres: PostgresServer) -> None:
    port = free_port()
    cases = {
        f"postgresql://deskmate:s3cret-pw@127.0.0.1:{port}/deskmate": (
            f"cannot reach PostgreSQL at 127.0.0.1:{port} (connection refused); "
            "check DESKMATE_DATABASE_URL and that the server is running"
        ),
        postgres.dsn("no_such_db"): (
            f"there is no database 'no_such_db' on PostgreSQL at 127.0.0.1:{postgres.port}; "
            "create it (`createdb no_such_db`) or fix DESKMATE_DATABASE_URL"
        ),
        postgres.dsn().replace("postgres@", "nobody:s3cret-pw@"): (
            f"PostgreSQL at 127.0.0.1:{postgres.port} refused the login"
        ),
        "mysql://u:s3cret-pw@127.0.0.1/deskmate": "DESKMATE_DATABASE_URL is not a usable PostgreSQL URL (invalid DSN",
        "postgresql://u:s3cret-pw@127.0.0.1:notaport/deskmate": "DESKMATE_DATABASE_URL is not a usable PostgreSQL URL",
    }
    for dsn, expected in cases.items():
        store = PostgresStore(dsn)
        with pytest.raises(StoreError) as raised:
            await store.open()
        await store.close()
        assert str(raised.value).startswith(expected), dsn
        assert "s3cret-pw" not in str(raised.value)


async def test_used_before_open_or_after_close(dsn: str) -> None:
    store = PostgresStore(dsn)
    with pytest.raises(StoreError, match=r"is not open; call `await store.open\(\)` first"):
        await store.events("c_x")

    await store.open()
    await store.close()
    with pytest.raises(StoreError, match="is not open"):
        await store.events("c_x")


async def test_append_to_an_unknown_conversation(replicas: tuple[PostgresStore, PostgresStore]) -> None:
    with pytest.raises(StoreError, match="no conversation c_missing; create it first"):
        await replicas[0].append("c_missing", [reply("hi")])


def test_describe_and_mask() -> None:
    assert describe("postgresql://u:pw@db.example.com/deskmate") == "db.example.com:5432"
    assert describe("postgresql://u:pw@db:6432/deskmate") == "db:6432"
    assert describe("postgresql://u@[::1]/deskmate") == "[::1]:5432"
    assert describe("postgresql:///deskmate?host=/run/postgresql") == "/run/postgresql:5432"
    assert mask_dsn("postgresql://u:p%40ss@db/deskmate") == "postgresql://u:***@db/deskmate"
    assert mask_dsn("postgresql://db/deskmate?password=hunter22") == "postgresql://db/deskmate?password=***"


# -- the commands against PostgreSQL ----------------------------------------------------------


def test_the_users_commands_use_the_database_url(
    dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DESKMATE_DATABASE_URL", dsn)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    data = str(tmp_path)

    assert main(["users", "add", "ann", "--role", "admin", "--password-stdin", "--data-dir", data]) == 0
    assert main(["users", "list", "--data-dir", data]) == 0
    assert capsys.readouterr().out.splitlines()[-1].split()[:2] == ["ann", "admin"]

    async def stored_hash() -> str | None:
        store = await PostgresAccountStore(dsn).open()
        try:
            found = await store.get("ann")
            return None if found is None else found.password_hash
        finally:
            await store.close()

    assert (asyncio.run(stored_hash()) or "").startswith("$argon2id$")
    assert main(["users", "remove", "ann", "--data-dir", data]) == 0
    assert asyncio.run(stored_hash()) is None
    assert not list(tmp_path.iterdir())  # nothing went to SQLite
