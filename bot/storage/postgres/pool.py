"""One asyncpg connection pool: the plumbing the PostgreSQL stores share.

The conversation, account and candidate stores may share one :class:`PostgresPool` (see
bot/storage/factory.py) or each open their own from a DSN. Each creates its tables at ``open()`` under a
transaction-level advisory lock, so replicas starting at once do not race on ``CREATE TABLE``.

Every call goes through :meth:`PostgresPool.run`, which turns asyncpg and socket errors into
:class:`StoreError` saying what to check, without the DSN's password. Short connect and command
timeouts make a call fail quickly while the server is away; asyncpg replaces closed connections,
and a call that finds its connection broken (the server restarted since it was last used) is tried
once more on a new one unless it may already have committed, so the store recovers by itself when
the server comes back.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, unquote, urlsplit

import asyncpg

from bot.errors import StoreError

logger = logging.getLogger(__name__)

T = TypeVar("T")
Connection = Any  # an asyncpg pool connection (asyncpg ships no type hints)

SCHEMA_LOCK = 0x6465736B6D617465  # "deskmate": the advisory lock held while creating tables
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_COMMAND_TIMEOUT = 30.0
SETTING = "DESKMATE_DATABASE_URL"
EXAMPLE_URL = "postgresql://user:password@host:5432/deskmate"

# what asyncpg and the socket layer raise; anything else is a bug and passes through
_DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError, TimeoutError)
# errors that mean the connection (or the server) went away
_LOST = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
)


class PostgresPool:
    """A pool of connections to the PostgreSQL database at ``dsn`` (``postgresql://user:password@host:5432/db``)."""

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 0,  # no floor: asyncpg would keep reconnecting (and logging) while the server is away
        max_size: int = 10,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
    ) -> None:
        self.dsn = dsn
        self.min_size = min_size
        self.max_size = max_size
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.where = describe(dsn)
        self._pool: Any = None

    def __repr__(self) -> str:
        return f"PostgresPool({mask_dsn(self.dsn)!r})"

    async def open(self) -> PostgresPool:
        if self._pool is not None:
            return self
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn,
                min_size=self.min_size,
                max_size=self.max_size,
                timeout=self.connect_timeout,
                command_timeout=self.command_timeout,
                server_settings={"application_name": "deskmate"},
            )
        except (*_DRIVER_ERRORS, ValueError) as exc:
            raise self.error(exc, connecting=True) from exc
        logger.info("connected to PostgreSQL at %s", self.where)
        return self

    async def create_schema(self, schema: str) -> None:
        """Create the tables of ``schema`` (``CREATE ... IF NOT EXISTS`` statements), one replica at a time."""

        async def create(conn: Connection) -> None:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK)
            await conn.execute(schema)

        await self.run(create, write=True)

    async def run(self, work: Callable[[Connection], Awaitable[T]], *, write: bool = False) -> T:
        """``work`` on a pooled connection, in one transaction when it ``write``s; errors become :class:`StoreError`.

        Writes always run in a transaction, so that a write whose connection broke before it
        committed can be tried again. Errors ``work`` raises on purpose (``DeskmateError``) pass through.
        """
        for last_try in (False, True):
            pool = self._live()
            try:
                conn = await pool.acquire(timeout=self.connect_timeout + self.command_timeout)
            except (*_DRIVER_ERRORS, ValueError) as exc:  # ValueError: a DSN asyncpg cannot use
                raise self.error(exc, connecting=True) from exc
            committing = False
            try:
                if not write:
                    return await work(conn)
                async with conn.transaction():
                    result = await work(conn)
                    committing = True
                return result
            except _DRIVER_ERRORS as exc:
                lost = isinstance(exc, _LOST) or _closed(exc)
                if lost:
                    await pool.expire_connections()  # its siblings are most likely broken too
                if lost and not committing and not last_try:
                    logger.info(
                        "lost a connection to PostgreSQL at %s (%s); trying a new one", self.where, _reason(exc)
                    )
                    continue
                raise self.error(exc) from exc
            finally:
                await self._release(pool, conn)
        raise AssertionError("not reached: the last try returns or raises")

    async def _release(self, pool: Any, conn: Connection) -> None:
        try:
            await pool.release(conn)
        except _DRIVER_ERRORS as exc:  # asyncpg has dropped the connection; the result stands
            logger.debug("dropped a PostgreSQL connection to %s on release (%s)", self.where, _reason(exc))

    def _live(self) -> Any:
        if self._pool is None:
            raise StoreError(f"the PostgreSQL database at {self.where} is not open; call `await store.open()` first")
        return self._pool

    def error(self, exc: BaseException, *, connecting: bool = False) -> StoreError:
        """A :class:`StoreError` for a driver error, saying what to check (never with the password)."""
        reason = self.mask(_reason(exc))
        if isinstance(exc, TimeoutError) and connecting:
            reason = f"no answer within {self.connect_timeout:g} s"
        if isinstance(exc, asyncpg.InvalidCatalogNameError):
            database = self.database
            return StoreError(
                f"there is no database {database!r} on PostgreSQL at {self.where}; create it "
                f"(`createdb {database}`) or fix {SETTING}"
            )
        if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
            return StoreError(
                f"PostgreSQL at {self.where} refused the login ({reason}); check the user and password in {SETTING}"
            )
        if isinstance(exc, asyncpg.TooManyConnectionsError):
            return StoreError(
                f"PostgreSQL at {self.where} has no connection to spare ({reason}); raise its max_connections "
                "or run fewer replicas"
            )
        if isinstance(exc, ValueError) and not isinstance(exc, asyncpg.DataError):
            return StoreError(f"{SETTING} is not a usable PostgreSQL URL ({reason}); use {EXAMPLE_URL}")
        if isinstance(exc, TimeoutError) and not connecting:
            return StoreError(
                f"PostgreSQL at {self.where} did not answer within {self.command_timeout:g} s; check the server's "
                "load and for transactions left open"
            )
        if connecting or isinstance(exc, _LOST) or _closed(exc):
            return StoreError(
                f"cannot reach PostgreSQL at {self.where} ({reason}); check {SETTING} and that the server is running"
            )
        return StoreError(f"database error on PostgreSQL at {self.where}: {reason}; check the server's log")

    @property
    def database(self) -> str:
        parts = urlsplit(self.dsn)
        named = unquote(parts.path.lstrip("/")) or _query(self.dsn, "dbname")
        return named or unquote(parts.username or "") or "postgres"

    def mask(self, text: str) -> str:
        """``text`` with the DSN's password (if any) replaced by ``***``."""
        return _mask(text, self.dsn)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), timeout=self.connect_timeout)
        except _DRIVER_ERRORS:  # a connection that does not close in time is cut off
            pool.terminate()


class PostgresBacked:
    """Base of the PostgreSQL stores: subclasses set ``schema``; open, run and close through a pool.

    ``database`` is a DSN (the store opens and closes a pool of its own) or a shared
    :class:`PostgresPool` (opened by the first store that needs it, closed by its owner).
    """

    schema = ""

    def __init__(self, database: str | PostgresPool) -> None:
        self._owns_pool = isinstance(database, str)
        self.pool = PostgresPool(database) if isinstance(database, str) else database

    async def _open(self) -> None:
        await self.pool.open()  # a shared pool may be open already
        try:
            await self.pool.create_schema(self.schema)
        except BaseException:
            await self.close()
            raise

    async def _run(self, work: Callable[[Connection], Awaitable[T]], *, write: bool = False) -> T:
        return await self.pool.run(work, write=write)

    async def close(self) -> None:
        if self._owns_pool:
            await self.pool.close()


def describe(dsn: str) -> str:
    """``host:port`` of a DSN: where it points, without the user or password."""
    parts = urlsplit(dsn)
    hosts = parts.netloc.rpartition("@")[2] or _query(dsn, "host") or "localhost"
    if "," in hosts:  # several hosts, each with its port
        return hosts
    has_port = "]:" in hosts if hosts.startswith("[") else ":" in hosts
    return hosts if has_port else f"{hosts}:{_query(dsn, 'port') or 5432}"


def mask_dsn(dsn: str) -> str:
    """The DSN with its password replaced by ``***``."""
    return _mask(dsn, dsn)


def _mask(text: str, dsn: str) -> str:
    secrets = set()
    try:
        password = urlsplit(dsn).password
    except ValueError:
        password = None
    for found in (password, _query(dsn, "password")):
        if found:
            secrets.update({found, unquote(found), quote(unquote(found), safe="")})
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _query(dsn: str, key: str) -> str | None:
    values = parse_qs(urlsplit(dsn).query).get(key)
    return values[0] if values else None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"unknown host: {exc.strerror or exc}"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    if isinstance(exc, asyncpg.PostgresError) and getattr(exc, "message", None):
        return str(exc.message)  # without the DETAIL line, which may quote a row's values
    return str(exc).strip() or type(exc).__name__


def _closed(exc: BaseException) -> bool:
    return isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc)
