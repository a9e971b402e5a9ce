"""Agent and admin accounts as stored: the account store seam and its in-memory twin.

::

    AccountStore              the seam: accounts with their password hashes, and session tokens
    ├── InMemoryAccountStore    the twin, here
    ├── SQLiteAccountStore      bot/storage/sqlite/accounts.py
    └── PostgresAccountStore    bot/storage/postgres/accounts.py

Hashing, logins and the rules for names and passwords are the service's (bot/service/accounts.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from bot.errors import AccountError


class Role(StrEnum):
    AGENT = "agent"
    ADMIN = "admin"


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    role: Role
    created_at: float


@dataclass(frozen=True)
class StoredAccount:
    """An account as the store keeps it: with its argon2 password hash (never shown to anyone)."""

    account: Account
    password_hash: str


class AccountStore(Protocol):
    async def create(self, account: Account, password_hash: str) -> None:
        """Add an account; :class:`AccountError` when the username is taken."""
        ...

    async def get(self, username: str) -> StoredAccount | None: ...

    async def list(self) -> list[Account]:
        """Every account, by username."""
        ...

    async def set_password_hash(self, username: str, password_hash: str) -> None: ...

    async def remove(self, username: str) -> bool:
        """Remove an account and end its sessions; False when there was none."""
        ...

    async def create_session(self, token_hash: str, username: str, expires_at: float) -> None: ...

    async def session(self, token_hash: str, *, now: float) -> Account | None:
        """The account of a live session; None when unknown or expired (an expired one is deleted)."""
        ...

    async def end_session(self, token_hash: str) -> bool: ...

    async def end_sessions_of(self, username: str) -> int:
        """End every session of a user; returns how many there were."""
        ...

    async def end_expired_sessions(self, *, now: float) -> int: ...

    async def close(self) -> None: ...


class InMemoryAccountStore:
    def __init__(self) -> None:
        self._accounts: dict[str, StoredAccount] = {}
        self._sessions: dict[str, tuple[str, float]] = {}  # token hash -> (username, expires_at)
        self._lock = asyncio.Lock()

    async def create(self, account: Account, password_hash: str) -> None:
        async with self._lock:
            if account.username in self._accounts:
                raise AccountError(username_taken(account.username))
            self._accounts[account.username] = StoredAccount(account, password_hash)

    async def get(self, username: str) -> StoredAccount | None:
        return self._accounts.get(username)

    async def list(self) -> list[Account]:
        return [self._accounts[name].account for name in sorted(self._accounts)]

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        async with self._lock:
            stored = self._accounts.get(username)
            if stored is None:
                raise AccountError(unknown_user(username))
            self._accounts[username] = replace(stored, password_hash=password_hash)

    async def remove(self, username: str) -> bool:
        async with self._lock:
            self._end_sessions_of(username)
            return self._accounts.pop(username, None) is not None

    async def create_session(self, token_hash: str, username: str, expires_at: float) -> None:
        async with self._lock:
            if username not in self._accounts:
                raise AccountError(unknown_user(username))
            if token_hash in self._sessions:
                raise AccountError("a session with this token already exists; log in again for a new token")
            self._sessions[token_hash] = (username, expires_at)

    async def session(self, token_hash: str, *, now: float) -> Account | None:
        async with self._lock:
            found = self._sessions.get(token_hash)
            if found is None:
                return None
            username, expires_at = found
            stored = self._accounts.get(username)
            if expires_at <= now or stored is None:
                del self._sessions[token_hash]
                return None
            return stored.account

    async def end_session(self, token_hash: str) -> bool:
        async with self._lock:
            return self._sessions.pop(token_hash, None) is not None

    async def end_sessions_of(self, username: str) -> int:
        async with self._lock:
            return self._end_sessions_of(username)

    def _end_sessions_of(self, username: str) -> int:
        ended = [token for token, (owner, _) in self._sessions.items() if owner == username]
        for token in ended:
            del self._sessions[token]
        return len(ended)

    async def end_expired_sessions(self, *, now: float) -> int:
        async with self._lock:
            expired = [token for token, (_, expires_at) in self._sessions.items() if expires_at <= now]
            for token in expired:
                del self._sessions[token]
            return len(expired)

    async def close(self) -> None:
        return None


def username_taken(username: str) -> str:
    return f"there is already a user {username!r}; pick another name, or remove that user first"


def unknown_user(username: str) -> str:
    return f"there is no user {username!r}; see `deskmate users list`"
