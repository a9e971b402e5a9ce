"""Agent and admin accounts: the ``Accounts`` service over the account store (bot/storage/accounts.py).

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

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.errors import AccountError, AuthenticationError, ConfigError
from bot.storage.accounts import Account, AccountStore, Role, unknown_user

logger = logging.getLogger(__name__)

USERNAME_PATTERN = re.compile(r"[a-z0-9._-]{2,32}")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # bounds the hashing work one request can ask for
MAX_DISPLAY_NAME_LENGTH = 64
MAX_TOKEN_LENGTH = 128  # tokens are 43 characters; anything much longer is not one of ours
DEFAULT_SESSION_HOURS = 12.0


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
            raise AccountError(unknown_user(username))
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
