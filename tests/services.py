"""Real PostgreSQL and Redis servers for the tests, started from the Debian packages in a temp folder.

Each server is private to the test run (its own data folder and a free port on 127.0.0.1), so the
tests never touch a system cluster, and fault tests can stop and restart one at will. PostgreSQL
refuses to run as root: as root the server runs as the ``postgres`` user the package creates.

Where the packages are missing the tests fail and say how to install them (tests/ci.sh does):
they must run, not skip.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

INSTALL_HINT = "install them with `apt-get install postgresql redis-server` (tests/ci.sh does)"
_database_numbers = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def unavailable(what: str) -> None:
    """Fail (never skip) a test whose server cannot be started here, saying how to install it."""
    pytest.fail(f"{what} is not installed: {INSTALL_HINT}")


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """A throwaway PostgreSQL cluster; ``dsn()`` of a fresh database per test."""

    def __init__(self) -> None:
        bin_dir = _postgres_bin()
        if bin_dir is None:
            unavailable("PostgreSQL")
        assert bin_dir is not None
        self.bin = bin_dir
        # not under pytest's tmp_path: that folder is private to root, and the server may run as postgres
        root = self.root = Path(tempfile.mkdtemp(prefix="deskmate-pg-"))
        root.chmod(0o755)
        self.data = root / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(root, "postgres", "postgres")
        self._run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
                "fsync = off\nfull_page_writes = off\nmax_connections = 200\n"
            )
        self.start()

    def _run(self, command: list[str]) -> None:
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")

    def start(self) -> None:
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w", "start"])
        wait_for_port(self.port)

    def stop(self, *, mode: str = "fast") -> None:
        """Stop the server (``immediate`` is a crash: no shutdown checkpoint, clients cut off)."""
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def new_database(self) -> str:
        """Create an empty database and return its DSN."""
        name = f"deskmate_{os.getpid()}_{next(_database_numbers)}"
        self._run([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name])
        return self.dsn(name)

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):  # already stopped by the test
            self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    """A throwaway redis-server with no persistence."""

    def __init__(self, root: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("Redis")
        assert binary is not None
        self.binary = binary
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        root.mkdir(parents=True, exist_ok=True)
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.root / "log").open("ab")
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.root,
        )
        log.close()
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def close(self) -> None:
        self.stop()
