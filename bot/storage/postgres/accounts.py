"""The PostgreSQL account store: agent and admin accounts and their sessions, shared by every replica.

The same tables as bot/storage/sqlite/accounts.py; asyncpg errors become :class:`StoreError` with what to
check (bot/storage/postgres/pool.py).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

import asyncpg

from bot.errors import AccountError, StoreError
from bot.storage.accounts import Account, Role, StoredAccount
from bot.storage.postgres.pool import Connection, PostgresBacked

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    username text PRIMARY KEY,
    display_name text NOT NULL,
    role text NOT NULL,
    password_hash text NOT NULL,
    created_at double precision NOT NULL
);
CREATE TABLE IF NOT EXISTS agent_sessions (
    token_hash text PRIMARY KEY,
    username text NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS agent_sessions_username ON agent_sessions (username);
CREATE INDEX IF NOT EXISTS agent_sessions_expires_at ON agent_sessions (expires_at);
"""
ACCOUNT_COLUMNS = "a.username, a.display_name, a.role, a.created_at"


class PostgresAccountStore(PostgresBacked):
    schema = SCHEMA

    async def open(self) -> PostgresAccountStore:
        await self._open()
        return self

    async def create(self, account: Account, password_hash: str) -> None:
        async def insert(conn: Connection) -> None:
            try:
                await conn.execute(
                    "INSERT INTO accounts (username, display_name, role, password_hash, created_at)"
                    " VALUES ($1, $2, $3, $4, $5)",
                    account.username,
                    account.display_name,
                    account.role.value,
                    password_hash,
                    account.created_at,
                )
            except asyncpg.UniqueViolationError as exc:
                raise AccountError(
                    f"there is already a user {account.username!r}; pick another name, or remove that user first"
                ) from exc

        await self._run(insert, write=True)

    async def get(self, username: str) -> StoredAccount | None:
        async def select(conn: Connection) -> StoredAccount | None:
            row = await conn.fetchrow(
                f"SELECT {ACCOUNT_COLUMNS}, a.password_hash FROM accounts a WHERE a.username = $1", username
            )
            return None if row is None else StoredAccount(self._account(row), str(row["password_hash"]))

        return await self._run(select)

    async def list(self) -> builtins.list[Account]:
        async def select(conn: Connection) -> builtins.list[Account]:
            rows = await conn.fetch(f'SELECT {ACCOUNT_COLUMNS} FROM accounts a ORDER BY a.username COLLATE "C"')
            return [self._account(row) for row in rows]

        return await self._run(select)

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        async def update(conn: Connection) -> None:
            done = await conn.execute(
                "UPDATE accounts SET password_hash = $1 WHERE username = $2", password_hash, username
            )
            if _count(done) == 0:
                raise AccountError(f"there is no user {username!r}; see `deskmate users list`")

        await self._run(update, write=True)

    async def remove(self, username: str) -> bool:
        async def delete(conn: Connection) -> bool:
            await conn.execute("DELETE FROM agent_sessions WHERE username = $1", username)
            return _count(await conn.execute("DELETE FROM accounts WHERE username = $1", username)) > 0

        return await self._run(delete, write=True)

    async def create_session(self, token_hash: str, username: str, expires_at: float) -> None:
        async def insert(conn: Connection) -> None:
            try:
                await conn.execute(
                    "INSERT INTO agent_sessions (token_hash, username, expires_at) VALUES ($1, $2, $3)",
                    token_hash,
                    username,
                    expires_at,
                )
            except asyncpg.IntegrityConstraintViolationError as exc:
                raise AccountError(
                    f"cannot start a session for {username!r} (unknown user or reused token); "
                    "check `deskmate users list` and log in again"
                ) from exc

        await self._run(insert, write=True)

    async def session(self, token_hash: str, *, now: float) -> Account | None:
        async def select(conn: Connection) -> Mapping[str, Any] | None:
            row: Mapping[str, Any] | None = await conn.fetchrow(
                f"SELECT s.expires_at, {ACCOUNT_COLUMNS} FROM agent_sessions s"
                " LEFT JOIN accounts a ON a.username = s.username WHERE s.token_hash = $1",
                token_hash,
            )
            return row

        row = await self._run(select)
        if row is None:
            return None
        if float(row["expires_at"]) <= now or row["username"] is None:
            await self.end_session(token_hash)
            return None
        return self._account(row)

    async def end_session(self, token_hash: str) -> bool:
        return await self._delete("DELETE FROM agent_sessions WHERE token_hash = $1", token_hash) > 0

    async def end_sessions_of(self, username: str) -> int:
        return await self._delete("DELETE FROM agent_sessions WHERE username = $1", username)

    async def end_expired_sessions(self, *, now: float) -> int:
        return await self._delete("DELETE FROM agent_sessions WHERE expires_at <= $1", now)

    async def _delete(self, statement: str, argument: object) -> int:
        async def delete(conn: Connection) -> int:
            return _count(await conn.execute(statement, argument))

        return await self._run(delete, write=True)

    def _account(self, row: Mapping[str, Any]) -> Account:
        username, role = row["username"], row["role"]
        try:
            return Account(str(username), str(row["display_name"]), Role(role), float(row["created_at"]))
        except ValueError as exc:
            roles = ", ".join(r.value for r in Role)
            raise StoreError(
                f"the user {username!r} in the PostgreSQL database at {self.pool.where} has the role {role!r}, "
                f"which is not one of {roles}; remove the user with `deskmate users remove` and add it again"
            ) from exc


def _count(status: str) -> int:
    """The row count of a command status such as ``DELETE 3``."""
    return int(status.rsplit(" ", 1)[-1])
