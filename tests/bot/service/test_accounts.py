"""bot.service.accounts and the account stores: one contract for the in-memory twin, SQLite and PostgreSQL, and the service."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from bot.errors import AccountError, AuthenticationError, ConfigError, DeskmateError, StoreError
from bot.service.accounts import Accounts, token_hash
from bot.storage.accounts import Account, AccountStore, InMemoryAccountStore, Role
from bot.storage.postgres.accounts import PostgresAccountStore
from bot.storage.sqlite.accounts import SQLiteAccountStore
from bot.storage.sqlite.store import SQLiteStore

PASSWORD = "correct horse battery"
HOUR = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AccountStore]:
    if request.param == "memory":
        instance: AccountStore = InMemoryAccountStore()
    elif request.param == "sqlite":
        instance = await SQLiteAccountStore(tmp_path / "db" / "deskmate.sqlite3").open()
    else:
        instance = await PostgresAccountStore(request.getfixturevalue("postgres").new_database()).open()
    yield instance
    await instance.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(store: AccountStore, clock: Clock) -> Accounts:
    # the cheapest argon2id parameters keep the tests fast; the algorithm is the same
    return Accounts(store, session_hours=12, hasher=PasswordHasher.from_parameters(CHEAPEST), clock=clock)


def alice(created_at: float = 1.0) -> Account:
    return Account("alice", "Alice A.", Role.AGENT, created_at)


# -- the store contract -----------------------------------------------------------------------


async def test_store_create_get_list(store: AccountStore) -> None:
    await store.create(Account("zed", "Zed", Role.ADMIN, 2.0), "hash-z")
    await store.create(alice(), "hash-a")

    found = await store.get("alice")
    assert found is not None
    assert found.account == alice()
    assert found.password_hash == "hash-a"
    assert await store.get("bob") is None
    assert [a.username for a in await store.list()] == ["alice", "zed"]
    assert (await store.list())[1].role is Role.ADMIN


async def test_store_refuses_a_taken_username(store: AccountStore) -> None:
    await store.create(alice(), "hash-a")

    with pytest.raises(AccountError, match=r"already a user 'alice'; pick another name"):
        await store.create(alice(created_at=2.0), "hash-b")
    found = await store.get("alice")
    assert found is not None and found.password_hash == "hash-a"


async def test_store_sessions_expire_and_are_deleted(store: AccountStore) -> None:
    await store.create(alice(), "hash-a")
    await store.create_session("t1", "alice", expires_at=100.0)

    assert await store.session("t1", now=99.0) == alice()
    assert await store.session("t1", now=100.0) is None
    assert await store.session("t1", now=0.0) is None  # deleted, not only hidden
    assert await store.session("unknown", now=0.0) is None
    assert await store.end_session("t1") is False


async def test_store_end_session_and_sessions_of(store: AccountStore) -> None:
    await store.create(alice(), "hash-a")
    await store.create(Account("bob", "Bob", Role.ADMIN, 1.0), "hash-b")
    for token, user in [("a1", "alice"), ("a2", "alice"), ("b1", "bob")]:
        await store.create_session(token, user, expires_at=100.0)

    assert await store.end_session("a1") is True
    assert await store.session("a1", now=0.0) is None
    assert await store.end_sessions_of("alice") == 1
    assert await store.session("a2", now=0.0) is None
    bob = await store.session("b1", now=0.0)
    assert bob is not None and bob.username == "bob"


async def test_store_remove_ends_the_sessions(store: AccountStore) -> None:
    await store.create(alice(), "hash-a")
    await store.create_session("t1", "alice", expires_at=100.0)

    assert await store.remove("alice") is True
    assert await store.remove("alice") is False
    assert await store.get("alice") is None
    assert await store.session("t1", now=0.0) is None
    await store.create(alice(), "hash-new")  # the name is free again, with no session carried over
    assert await store.session("t1", now=0.0) is None


async def test_store_end_expired_sessions(store: AccountStore) -> None:
    await store.create(alice(), "hash-a")
    await store.create_session("old", "alice", expires_at=10.0)
    await store.create_session("new", "alice", expires_at=100.0)

    assert await store.end_expired_sessions(now=50.0) == 1
    assert await store.session("new", now=50.0) == alice()
    assert await store.end_sessions_of("alice") == 1


async def test_store_session_for_an_unknown_user_is_refused(store: AccountStore) -> None:
    with pytest.raises(AccountError):
        await store.create_session("t1", "ghost", expires_at=100.0)


async def test_store_set_password_hash(store: AccountStore) -> None:
    await store.create(alice(), "hash-a")

    await store.set_password_hash("alice", "hash-b")

    found = await store.get("alice")
    assert found is not None and found.password_hash == "hash-b"
    with pytest.raises(AccountError, match="no user 'ghost'"):
        await store.set_password_hash("ghost", "x")


async def test_sqlite_accounts_survive_reopening_beside_the_conversation_store(tmp_path: Path) -> None:
    path = tmp_path / "deskmate.sqlite3"
    conversations = await SQLiteStore(path).open()
    store = await SQLiteAccountStore(path).open()
    try:
        await store.create(alice(), "hash-a")
        await store.create_session("t1", "alice", expires_at=100.0)
        assert (await conversations.create_conversation("customer")).startswith("c_")
    finally:
        await store.close()
        await conversations.close()

    reopened = await SQLiteAccountStore(path).open()
    try:
        assert await reopened.list() == [alice()]
        assert await reopened.session("t1", now=0.0) == alice()
    finally:
        await reopened.close()
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"accounts", "agent_sessions", "conversations"} <= tables
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_sqlite_on_an_unwritable_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    store = SQLiteAccountStore(blocker / "deskmate.sqlite3")

    with pytest.raises(StoreError, match=r"cannot open the account database .*writable.*DESKMATE_DB_PATH"):
        await store.open()
    await store.close()


async def test_sqlite_used_before_open(tmp_path: Path) -> None:
    store = SQLiteAccountStore(tmp_path / "x.sqlite3")

    with pytest.raises(StoreError, match="not open"):
        await store.list()
    await store.close()


async def test_sqlite_errors_become_store_errors(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    store = await SQLiteAccountStore(path).open()
    try:
        with sqlite3.connect(path) as db:
            db.execute("DROP TABLE agent_sessions")
        with pytest.raises(StoreError, match=r"database error on .*check disk space"):
            await store.end_session("t1")
    finally:
        await store.close()


async def test_sqlite_unknown_role_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    store = await SQLiteAccountStore(path).open()
    try:
        await store.create(alice(), "hash-a")
        with sqlite3.connect(path) as db:
            db.execute("UPDATE accounts SET role = 'owner'")
        with pytest.raises(StoreError, match=r"role 'owner'.*deskmate users remove"):
            await store.list()
    finally:
        await store.close()


# -- the Accounts service ---------------------------------------------------------------------


async def test_passwords_are_stored_as_argon2id_hashes(accounts: Accounts, store: AccountStore) -> None:
    account = await accounts.add("alice", PASSWORD, Role.AGENT, "Alice A.")

    assert account == Account("alice", "Alice A.", Role.AGENT, 1_000_000.0)
    stored = await store.get("alice")
    assert stored is not None
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash
    assert PasswordHasher().verify(stored.password_hash, PASSWORD)
    await accounts.add("bob", PASSWORD, "admin")
    bob = await store.get("bob")
    assert bob is not None and bob.password_hash != stored.password_hash  # salted
    assert bob.account.display_name == "bob" and bob.account.role is Role.ADMIN


async def test_login_right_password(accounts: Accounts, store: AccountStore) -> None:
    added = await accounts.add("alice", PASSWORD, Role.ADMIN)

    token, account = await accounts.login("alice", PASSWORD)

    assert account == added
    assert len(token) >= 43
    assert await accounts.authenticate(token) == added
    assert await store.session(token, now=0.0) is None  # only the hash of the token is stored
    assert await store.session(hashlib.sha256(token.encode()).hexdigest(), now=0.0) == added
    second, _ = await accounts.login("Alice ", PASSWORD)  # usernames are matched lowercase
    assert second != token
    assert await accounts.authenticate(token) == added


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong password!"), ("alice", PASSWORD.upper()), ("nobody", PASSWORD), ("x", PASSWORD), ("alice", "")],
)
async def test_login_refused_with_one_message(accounts: Accounts, username: str, password: str) -> None:
    await accounts.add("alice", PASSWORD, Role.AGENT)

    with pytest.raises(AuthenticationError) as info:
        await accounts.login(username, password)

    assert str(info.value) == "wrong username or password; check both and try again"
    assert isinstance(info.value, AccountError)
    assert isinstance(info.value, DeskmateError)


async def test_unknown_user_is_verified_against_a_dummy_hash(store: AccountStore, clock: Clock) -> None:
    verified: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            verified.append(str(hash))
            return super().verify(hash, password)

    accounts = Accounts(store, hasher=CountingHasher.from_parameters(CHEAPEST), clock=clock)

    for _ in range(2):
        with pytest.raises(AuthenticationError):
            await accounts.login("nobody", PASSWORD)

    assert len(verified) == 2
    assert verified[0] == verified[1]
    assert verified[0].startswith("$argon2id$")


async def test_sessions_expire(accounts: Accounts, clock: Clock) -> None:
    await accounts.add("alice", PASSWORD, Role.AGENT)
    token, account = await accounts.login("alice", PASSWORD)

    clock.now += 12 * HOUR - 1
    assert await accounts.authenticate(token) == account
    clock.now += 1
    assert await accounts.authenticate(token) is None
    clock.now -= 10
    assert await accounts.authenticate(token) is None  # the expired session was deleted


async def test_session_lifetime_is_configurable(store: AccountStore, clock: Clock) -> None:
    accounts = Accounts(store, session_hours=0.5, hasher=PasswordHasher.from_parameters(CHEAPEST), clock=clock)
    await accounts.add("alice", PASSWORD, Role.AGENT)
    token, _ = await accounts.login("alice", PASSWORD)

    clock.now += 0.5 * HOUR
    assert await accounts.authenticate(token) is None


@pytest.mark.parametrize("hours", [0, -1.0])
def test_session_hours_must_be_positive(hours: float) -> None:
    with pytest.raises(ConfigError, match="DESKMATE_SESSION_HOURS"):
        Accounts(InMemoryAccountStore(), session_hours=hours)


async def test_login_clears_expired_sessions(accounts: Accounts, store: AccountStore, clock: Clock) -> None:
    await accounts.add("alice", PASSWORD, Role.AGENT)
    old, _ = await accounts.login("alice", PASSWORD)
    clock.now += 13 * HOUR

    await accounts.login("alice", PASSWORD)

    assert await store.end_sessions_of("alice") == 1  # only the new one was left
    assert await accounts.authenticate(old) is None


async def test_logout(accounts: Accounts) -> None:
    await accounts.add("alice", PASSWORD, Role.AGENT)
    first, _ = await accounts.login("alice", PASSWORD)
    second, _ = await accounts.login("alice", PASSWORD)

    await accounts.logout(first)
    await accounts.logout(first)  # twice is fine
    await accounts.logout("not-a-token")

    assert await accounts.authenticate(first) is None
    assert await accounts.authenticate(second) is not None


@pytest.mark.parametrize("token", ["", "x" * 10_000, "made-up-token"])
async def test_authenticate_unknown_tokens(accounts: Accounts, token: str) -> None:
    assert await accounts.authenticate(token) is None


async def test_remove_ends_the_sessions(accounts: Accounts) -> None:
    await accounts.add("alice", PASSWORD, Role.AGENT)
    await accounts.add("bob", PASSWORD, Role.ADMIN)
    tokens = [(await accounts.login("alice", PASSWORD))[0] for _ in range(2)]
    bob, _ = await accounts.login("bob", PASSWORD)

    assert await accounts.remove("alice") == 2

    assert [await accounts.authenticate(t) for t in tokens] == [None, None]
    assert await accounts.authenticate(bob) is not None
    assert [a.username for a in await accounts.list()] == ["bob"]
    with pytest.raises(AuthenticationError):
        await accounts.login("alice", PASSWORD)
    with pytest.raises(AccountError, match=r"no user 'alice'; see `deskmate users list`"):
        await accounts.remove("alice")


async def test_login_rehashes_when_the_parameters_changed(store: AccountStore, clock: Clock) -> None:
    old = Accounts(store, hasher=PasswordHasher.from_parameters(CHEAPEST), clock=clock)
    await old.add("alice", PASSWORD, Role.AGENT)
    before = await store.get("alice")
    assert before is not None and "m=8,t=1,p=1" in before.password_hash

    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    await Accounts(store, hasher=stronger, clock=clock).login("alice", PASSWORD)

    after = await store.get("alice")
    assert after is not None and "m=16,t=2,p=1" in after.password_hash
    assert stronger.verify(after.password_hash, PASSWORD)
    await Accounts(store, hasher=stronger, clock=clock).login("alice", PASSWORD)
    again = await store.get("alice")
    assert again is not None and again.password_hash == after.password_hash  # no needless rehash


async def test_adding_a_taken_username(accounts: Accounts) -> None:
    await accounts.add("alice", PASSWORD, Role.AGENT)

    with pytest.raises(AccountError, match="already a user 'alice'"):
        await accounts.add("alice", "another password", Role.ADMIN)


@pytest.mark.parametrize(
    ("username", "password", "role", "name", "message"),
    [
        ("Alice", PASSWORD, "agent", None, r"'Alice' is not allowed; use 2 to 32 lowercase .*for example 'alice'"),
        ("a", PASSWORD, "agent", None, r"2 to 32 lowercase letters, digits, '\.', '_' or '-'$"),
        ("a" * 33, PASSWORD, "agent", None, "2 to 32"),
        ("al ice", PASSWORD, "agent", None, "not allowed"),
        ("alice@x", PASSWORD, "agent", None, "not allowed"),
        ("alice", "short", "agent", None, r"too short \(5 characters\); use at least 10"),
        ("alice", "x" * 2000, "agent", None, "too long; use at most 1024"),
        ("alice", PASSWORD, "owner", None, "no role 'owner'; use agent or admin"),
        ("alice", PASSWORD, "agent", "   ", "display name must have 1 to 64"),
        ("alice", PASSWORD, "agent", "x" * 65, "display name must have 1 to 64"),
    ],
)
async def test_validation_says_what_to_do(
    accounts: Accounts, username: str, password: str, role: str, name: str | None, message: str
) -> None:
    with pytest.raises(AccountError, match=message):
        await accounts.add(username, password, role, name)

    assert await accounts.list() == []


async def test_accepted_usernames_and_tidy_display_names(accounts: Accounts) -> None:
    for username in ["ab", "a.b_c-d", "x" * 32, "007"]:
        await accounts.add(username, PASSWORD, Role.AGENT, "  Ada   Lovelace ")

    names = {a.username: a.display_name for a in await accounts.list()}
    assert set(names) == {"ab", "a.b_c-d", "x" * 32, "007"}
    assert set(names.values()) == {"Ada Lovelace"}


def test_token_hash_is_sha256() -> None:
    assert token_hash("abc") == hashlib.sha256(b"abc").hexdigest()
