"""The SQLite account store: agent and admin accounts and their sessions.

Its own connection in WAL mode (the database file may be the conversation store's), used from a
single worker thread so the event loop never blocks on disk. ``sqlite3`` errors become
:class:`StoreError` with what to check.
"""

from __future__ import annotations

import builtins
import sqlite3
from typing import TypeVar

from bot.errors import AccountError, StoreError
from bot.storage.accounts import Account, Role, StoredAccount
from bot.storage.sqlite.worker import SQLiteWorker

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    username TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS agent_sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS agent_sessions_username ON agent_sessions (username);
CREATE INDEX IF NOT EXISTS agent_sessions_expires_at ON agent_sessions (expires_at);
"""

ACCOUNT_COLUMNS = "a.username, a.display_name, a.role, a.created_at"


class SQLiteAccountStore(SQLiteWorker):
    what = "account database"
    schema = SCHEMA

    async def open(self) -> SQLiteAccountStore:
        await self._open()
        return self

    async def create(self, account: Account, password_hash: str) -> None:
        def insert() -> None:
            try:
                self._db.execute(
                    "INSERT INTO accounts (username, display_name, role, password_hash, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (account.username, account.display_name, account.role.value, password_hash, account.created_at),
                )
            except sqlite3.IntegrityError as exc:
                raise AccountError(
                    f"there is already a user {account.username!r}; pick another name, or remove that user first"
                ) from exc

        await self._guarded(insert)

    async def get(self, username: str) -> StoredAccount | None:
        def select() -> StoredAccount | None:
            row = self._db.execute(
                f"SELECT {ACCOUNT_COLUMNS}, a.password_hash FROM accounts a WHERE a.username = ?", (username,)
            ).fetchone()
            return None if row is None else StoredAccount(self._account(row[:4]), str(row[4]))

        return await self._guarded(select)

    async def list(self) -> builtins.list[Account]:
        def select() -> builtins.list[Account]:
            rows = self._db.execute(f"SELECT {ACCOUNT_COLUMNS} FROM accounts a ORDER BY a.username").fetchall()
            return [self._account(row) for row in rows]

        return await self._guarded(select)

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        def update() -> None:
            cursor = self._db.execute(
                "UPDATE accounts SET password_hash = ? WHERE username = ?", (password_hash, username)
            )
            if cursor.rowcount == 0:
                raise AccountError(f"there is no user {username!r}; see `deskmate users list`")

        await self._guarded(update)

    async def remove(self, username: str) -> bool:
        def delete() -> bool:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM agent_sessions WHERE username = ?", (username,))
                removed = db.execute("DELETE FROM accounts WHERE username = ?", (username,)).rowcount > 0
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return removed

        return await self._guarded(delete)

    async def create_session(self, token_hash: str, username: str, expires_at: float) -> None:
        def insert() -> None:
            try:
                self._db.execute(
                    "INSERT INTO agent_sessions (token_hash, username, expires_at) VALUES (?, ?, ?)",
                    (token_hash, username, expires_at),
                )
            except sqlite3.IntegrityError as exc:
                raise AccountError(
                    f"cannot start a session for {username!r} (unknown user or reused token); "
                    "check `deskmate users list` and log in again"
                ) from exc

        await self._guarded(insert)

    async def session(self, token_hash: str, *, now: float) -> Account | None:
        def select() -> Account | None:
            row = self._db.execute(
                f"SELECT s.expires_at, {ACCOUNT_COLUMNS} FROM agent_sessions s"
                " LEFT JOIN accounts a ON a.username = s.username WHERE s.token_hash = ?",
                (token_hash,),
            ).fetchone()
            if row is None:
                return None
            if float(row[0]) <= now or row[1] is None:
                self._db.execute("DELETE FROM agent_sessions WHERE token_hash = ?", (token_hash,))
                return None
            return self._account(row[1:])

        return await self._guarded(select)

    async def end_session(self, token_hash: str) -> bool:
        def delete() -> bool:
            return self._db.execute("DELETE FROM agent_sessions WHERE token_hash = ?", (token_hash,)).rowcount > 0

        return await self._guarded(delete)

    async def end_sessions_of(self, username: str) -> int:
        def delete() -> int:
            return int(self._db.execute("DELETE FROM agent_sessions WHERE username = ?", (username,)).rowcount)

        return await self._guarded(delete)

    async def end_expired_sessions(self, *, now: float) -> int:
        def delete() -> int:
            return int(self._db.execute("DELETE FROM agent_sessions WHERE expires_at <= ?", (now,)).rowcount)

        return await self._guarded(delete)

    def _account(self, row: tuple[str, str, str, float]) -> Account:
        username, display_name, role, created_at = row
        try:
            return Account(str(username), str(display_name), Role(role), float(created_at))
        except ValueError as exc:
            roles = ", ".join(r.value for r in Role)
            raise StoreError(
                f"the user {username!r} in {self.path} has the role {role!r}, which is not one of {roles}; "
                "remove the user with `deskmate users remove` and add it again"
            ) from exc
