"""Agent and admin accounts: the account store seam, its in-memory twin, and the ``Accounts`` service.

Passwords are hashed with argon2id (``argon2.PasswordHasher``) and rehashed at the next login when
the hasher's parameters have changed. A login hands out a random session token; only its SHA-256 is
stored, with an expiry. Logging in as an unknown user costs as much as a wrong password (it verifies
against a dummy hash), so timing does not tell which usernames exist.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.errors import AccountError, AuthenticationError, ConfigError

logger = logging.getLogger(__name__)

USERNAME_PATTERN = re.compile(r"[a-z0-9._-]{2,32}")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # bounds the hashing work one request can ask for
MAX_DISPLAY_NAME_LENGTH = 64
MAX_TOKEN_LENGTH = 128  # tokens are 43 characters; anything much longer is not one of ours
DEFAULT_SESSION_HOURS = 12.0


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
                raise AccountError(_taken(account.username))
            self._accounts[account.username] = StoredAccount(account, password_hash)

    async def get(self, username: str) -> StoredAccount | None:
        return self._accounts.get(username)

    async def list(self) -> list[Account]:
        return [self._accounts[name].account for name in sorted(self._accounts)]

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        async with self._lock:
            stored = self._accounts.get(username)
            if stored is None:
                raise AccountError(_unknown(username))
            self._accounts[username] = replace(stored, password_hash=password_hash)

    async def remove(self, username: str) -> bool:
        async with self._lock:
            self._end_sessions_of(username)
            return self._accounts.pop(username, None) is not None

    async def create_session(self, token_hash: str, username: str, expires_at: float) -> None:
        async with self._lock:
            if username not in self._accounts:
                raise AccountError(_unknown(username))
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


class Accounts:
    """Adds, lists and removes accounts; logs users in and checks their session tokens."""

    def __init__(
        self,
        store: AccountStore,
        *,
        session_hours: float = DEFAULT_SESSION_HOURS,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not session_hours > 0:
            raise ConfigError(f"session_hours is {session_hours}; use a positive number (DESKMATE_SESSION_HOURS)")
        self.store = store
        self.session_seconds = session_hours * 3600.0
        self._hasher = hasher or PasswordHasher()
        self._clock = clock
        self._dummy_hash: str | None = None

    async def add(
        self, username: str, password: str, role: Role | str = Role.AGENT, display_name: str | None = None
    ) -> Account:
        check_username(username)
        check_password(password)
        account = Account(username, check_display_name(display_name or username), _role(role), self._clock())
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        await self.store.create(account, password_hash)
        logger.info("added %s account %s", account.role.value, username)
        return account

    async def remove(self, username: str) -> int:
        """Remove an account and end its sessions; returns how many sessions were ended."""
        ended = await self.store.end_sessions_of(username)
        if not await self.store.remove(username):
            raise AccountError(_unknown(username))
        logger.info("removed account %s (%d sessions ended)", username, ended)
        return ended

    async def list(self) -> list[Account]:
        return await self.store.list()

    async def login(self, username: str, password: str) -> tuple[str, Account]:
        """A new session token and the account; :class:`AuthenticationError` on a wrong username or password."""
        username = username.strip().lower()
        stored = await self.store.get(username) if USERNAME_PATTERN.fullmatch(username) else None
        if len(password) > MAX_PASSWORD_LENGTH:
            stored = None
        password_hash = stored.password_hash if stored is not None else await self._dummy()
        verified = await asyncio.to_thread(self._verify, password_hash, password[:MAX_PASSWORD_LENGTH])
        if stored is None or not verified:
            logger.info("refused a login as %s", username if stored is not None else "an unknown user")
            raise AuthenticationError("wrong username or password; check both and try again")
        if self._hasher.check_needs_rehash(stored.password_hash):
            new_hash = await asyncio.to_thread(self._hasher.hash, password)
            await self.store.set_password_hash(username, new_hash)
            logger.info("rehashed the password of %s with the current parameters", username)
        now = self._clock()
        await self.store.end_expired_sessions(now=now)
        token = secrets.token_urlsafe(32)
        await self.store.create_session(token_hash(token), username, now + self.session_seconds)
        logger.info("%s %s logged in", stored.account.role.value, username)
        return token, stored.account

    async def authenticate(self, token: str) -> Account | None:
        """The account a session token belongs to; None when it is unknown, expired or ended."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        return await self.store.session(token_hash(token), now=self._clock())

    async def logout(self, token: str) -> None:
        if token and len(token) <= MAX_TOKEN_LENGTH:
            await self.store.end_session(token_hash(token))

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await asyncio.to_thread(self._hasher.hash, secrets.token_urlsafe(16))
        return self._dummy_hash


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_username(username: str) -> str:
    if not USERNAME_PATTERN.fullmatch(username):
        hint = f" (for example {username.lower()!r})" if USERNAME_PATTERN.fullmatch(username.lower()) else ""
        raise AccountError(
            f"the username {username!r} is not allowed; use 2 to 32 lowercase letters, digits, '.', '_' or '-'{hint}"
        )
    return username


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"the password is too short ({len(password)} characters); use at least {MIN_PASSWORD_LENGTH}, "
            "for example a few unrelated words"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password is too long; use at most {MAX_PASSWORD_LENGTH} characters")
    return password


def check_display_name(display_name: str) -> str:
    name = " ".join(display_name.split())
    if not name or len(name) > MAX_DISPLAY_NAME_LENGTH:
        raise AccountError(f"the display name must have 1 to {MAX_DISPLAY_NAME_LENGTH} characters; shorten or set it")
    return name


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError as exc:
        choices = " or ".join(r.value for r in Role)
        raise AccountError(f"there is no role {role!r}; use {choices}") from exc


def _taken(username: str) -> str:
    return f"there is already a user {username!r}; pick another name, or remove that user first"


def _unknown(username: str) -> str:
    return f"there is no user {username!r}; see `deskmate users list`"
