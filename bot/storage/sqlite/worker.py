"""One SQLite connection used from one worker thread: the plumbing the SQLite stores share.

Each store (conversations, accounts, KB candidates) opens its own connection to the same file in
WAL mode and runs every statement on its own single worker thread, so the event loop never blocks
on disk and a connection is never used from two threads. ``sqlite3`` errors become
:class:`StoreError` saying what to check.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from bot.errors import StoreError

T = TypeVar("T")


class SQLiteWorker:
    """Subclasses set ``what`` (for messages) and ``schema``, and may extend :meth:`_prepare`."""

    what = "database"
    schema = ""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sqlite-{self.what.split()[0]}")
        self._conn: sqlite3.Connection | None = None

    async def _open(self) -> None:
        await self._run(self._connect)

    def _connect(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=10.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._prepare(conn)
            conn.executescript(self.schema)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(
                f"cannot open the {self.what} {self.path} ({exc}); check the path exists and is writable "
                "(setting DESKMATE_DB_PATH)"
            ) from exc
        self._conn = conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Run before the schema (e.g. to migrate tables made by an earlier version)."""

    async def _run(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn)

    def _guard(self, fn: Callable[[], T]) -> Callable[[], T]:
        def wrapped() -> T:
            try:
                return fn()
            except sqlite3.Error as exc:
                raise StoreError(f"database error on {self.path}: {exc}; check disk space and permissions") from exc

        return wrapped

    async def _guarded(self, fn: Callable[[], T]) -> T:
        return await self._run(self._guard(fn))

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the {self.what} is not open; call `await store.open()` first")
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await self._run(conn.close)
        self._executor.shutdown(wait=False)
