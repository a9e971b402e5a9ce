"""The server of ``deskmate bench load``: ``deskmate serve`` launched for the run, and what is read from it.

Unless the benchmark is given a ``url``, ``deskmate serve`` runs as a subprocess on a free
loopback port over a fresh SQLite file in a temporary folder, serving the existing builds of the
data folder (nothing is trained when one exists), with the abuse limits raised so that one address
may open every connection and send as fast as it likes (see :func:`raised_limits`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import ConfigError, DeskmateError
from bot.ops.config import Settings

STARTUP_TIMEOUT = 300.0  # a first start without a build trains the KB's model (about a minute on 2 CPUs)
_RUNNING = "Deskmate is running: open http://"


def raised_limits(clients: int) -> dict[str, str]:
    """Abuse limits for a launched server: every customer from one address, sending at will."""
    return {
        "DESKMATE_MAX_CONNECTIONS_PER_ADDRESS": str(clients + 10),
        "DESKMATE_ADDRESS_RATE": "1000",
        "DESKMATE_ADDRESS_BURST": str(max(1000, 10 * clients)),
        "DESKMATE_CUSTOMER_RATE": "1000",
        "DESKMATE_CUSTOMER_BURST": "1000",
    }


@dataclass(frozen=True)
class LaunchedServer:
    url: str
    pid: int
    limits: dict[str, str] = field(default_factory=dict)
    start_s: float | None = None  # from launching the process to its first /healthz answer
    idle_rss_mb: float | None = None  # resident memory once up, before any customer (IDLE_SETTLE_S later)


IDLE_SETTLE_S = 2.0


@contextlib.asynccontextmanager
async def launched_server(
    settings: Settings, *, clients: int, startup_timeout: float = STARTUP_TIMEOUT
) -> AsyncIterator[LaunchedServer]:
    """``deskmate serve`` on a free loopback port: a fresh SQLite file, the builds of ``settings``."""
    limits = raised_limits(clients)
    with tempfile.TemporaryDirectory(prefix="deskmate-load-") as tmp:
        folder = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k not in ("DESKMATE_DATABASE_URL", "DESKMATE_REDIS_URL")}
        env |= limits
        env["DESKMATE_SECRET_KEY"] = secrets.token_urlsafe(36)  # 48 characters
        env["DESKMATE_BUILDS_DIR"] = str(settings.builds.resolve())
        env["DESKMATE_DB_PATH"] = str(folder / "load.sqlite3")
        command = [sys.executable, "-m", "bot.cli.main", "serve", "--host", "127.0.0.1", "--port", "0"]
        command += ["--data-dir", str(folder), "--kb", str(settings.kb_path)]
        stdout, log = folder / "stdout.log", folder / "server.log"
        with stdout.open("wb") as out, log.open("wb") as err:
            launched_at = time.perf_counter()
            process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
            try:
                port = await _port_of(process, stdout, log, startup_timeout)
                url = f"ws://127.0.0.1:{port}"
                await asyncio.to_thread(healthz, url)
                start_s = time.perf_counter() - launched_at
                await asyncio.sleep(IDLE_SETTLE_S)
                yield LaunchedServer(url, process.pid, limits, start_s, resident_mb(process.pid))
            finally:
                process.terminate()  # SIGTERM: the server closes its connections and store
                try:
                    await asyncio.to_thread(process.wait, 20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    await asyncio.to_thread(process.wait)


async def _port_of(process: subprocess.Popen[bytes], stdout: Path, log: Path, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in stdout.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(_RUNNING):
                return int(line[len(_RUNNING) :].split("/", 1)[0].rsplit(":", 1)[1])
        if process.poll() is not None:
            break
        await asyncio.sleep(0.02)
    tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
    state = f"exited with code {process.returncode}" if process.poll() is not None else f"not up after {timeout:.0f} s"
    raise DeskmateError(
        f"the benchmark's server {state}; its log ends with:\n  " + "\n  ".join(tail) + "\n"
        "fix the cause, or start a server yourself and pass --url ws://HOST:PORT"
    )


def healthz(url: str) -> dict[str, Any]:
    """The server's /healthz (``url``: ws://HOST:PORT)."""
    address = url.split("://", 1)[-1].split("/", 1)[0]
    try:
        with urllib.request.urlopen(f"http://{address}/healthz", timeout=10) as response:
            data: dict[str, Any] = json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"no Deskmate server answers at {url} ({exc}); start one or fix --url") from exc
    return data


def resident_mb(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MB (Linux /proc), or None."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        return int(status.split("VmRSS:", 1)[1].split()[0]) / 1024
    except (OSError, ValueError, IndexError):
        return None


def process_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of process ``pid`` (Linux /proc), or None."""
    if pid is None:
        return time.process_time()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
