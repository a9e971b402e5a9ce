"""Opening the three stores the settings ask for: PostgreSQL when a database URL is set, else SQLite.

::

    open_stores(settings) -> Stores
    ├── DESKMATE_DATABASE_URL set   PostgresStore, PostgresAccountStore, PostgresCandidateStore
    │                               sharing one connection pool (bot/storage/postgres/pool.py)
    └── otherwise                   SQLiteStore, SQLiteAccountStore, SQLiteCandidateStore on one
                                    file, settings.database (DESKMATE_DB_PATH)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bot.storage.accounts import AccountStore
from bot.storage.candidates import CandidateStore
from bot.storage.insights import InsightsStore
from bot.storage.postgres.pool import PostgresPool
from bot.storage.store import Store


class StoreSettings(Protocol):
    """What choosing the stores reads of the settings (:class:`bot.ops.config.Settings` has both)."""

    @property
    def database_url(self) -> str | None: ...

    @property
    def database(self) -> Path: ...


@dataclass
class Stores:
    """The conversation, account and candidate stores of one process; close them together."""

    store: Store
    accounts: AccountStore
    candidates: CandidateStore
    insights: InsightsStore  # reads the conversation store's events for the admin's figures
    where: str  # the SQLite file, or "PostgreSQL at host:port" (never a password)
    pool: PostgresPool | None = field(default=None, repr=False)

    async def close(self) -> None:
        try:
            for each in (self.insights, self.candidates, self.accounts, self.store):
                await each.close()
        finally:
            if self.pool is not None:
                await self.pool.close()


async def open_stores(settings: StoreSettings) -> Stores:
    """Open the stores of ``settings``: PostgreSQL at ``database_url`` if set, else SQLite at ``database``."""
    if settings.database_url:
        return await _open_postgres(settings.database_url)
    return await _open_sqlite(settings)


async def _open_postgres(dsn: str) -> Stores:
    from bot.storage.postgres.accounts import PostgresAccountStore
    from bot.storage.postgres.candidates import PostgresCandidateStore
    from bot.storage.postgres.insights import PostgresInsights
    from bot.storage.postgres.store import PostgresStore

    pool = await PostgresPool(dsn).open()
    try:
        # each creates its own tables; closing them leaves the shared pool to Stores.close
        store = await PostgresStore(pool).open()
        accounts = await PostgresAccountStore(pool).open()
        candidates = await PostgresCandidateStore(pool).open()
        insights = await PostgresInsights(pool).open()
    except BaseException:
        await pool.close()
        raise
    return Stores(store, accounts, candidates, insights, where=f"PostgreSQL at {pool.where}", pool=pool)


async def _open_sqlite(settings: StoreSettings) -> Stores:
    from bot.storage.sqlite.accounts import SQLiteAccountStore
    from bot.storage.sqlite.candidates import SQLiteCandidateStore
    from bot.storage.sqlite.insights import SQLiteInsights
    from bot.storage.sqlite.store import SQLiteStore

    path = settings.database
    store, accounts, candidates = SQLiteStore(path), SQLiteAccountStore(path), SQLiteCandidateStore(path)
    insights = SQLiteInsights(path)
    try:
        await store.open()
        await accounts.open()
        await candidates.open()
        await insights.open()  # after the store: it reads the tables the store creates
    except BaseException:
        for each in (insights, candidates, accounts, store):  # closing one never opened only stops its thread
            await each.close()
        raise
    return Stores(store, accounts, candidates, insights, where=str(path))
