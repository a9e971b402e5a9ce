"""``deskmate serve`` as a real separate process, for replica and crash tests.

Each process loads its own models (about 10 s on 2 cores) and serves an already made KB build
from a builds folder the test prepares (no training), on a port the test picks so a restarted
process comes back where its customers reconnect.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

from kb.build import BuildInfo
from kb.loader import load_kb
from kb.versions import ActiveBuild, write_active
from tests.services import free_port

START_TIMEOUT = 120.0
SECRET_KEY = "test-secret-key-shared-by-every-replica-0123456789"
ADMIN_TOKEN = "test-admin-token-0123456789"


def shared_builds(build: BuildInfo, kb_path: Path, builds_dir: Path) -> Path:
    """A builds folder holding ``build`` marked active for ``kb_path``, so serving it trains nothing."""
    target = builds_dir / build.path.name
    shutil.copytree(build.path, target)
    write_active(builds_dir, ActiveBuild(build.id, load_kb(kb_path).content_hash()))
    return builds_dir


class ServerProcess:
    def __init__(self, name: str, data_dir: Path, **settings: str) -> None:
        self.name = name
        self.data_dir = data_dir
        self.port = free_port()
        self.env = {
            **os.environ,
            "DESKMATE_HOST": "127.0.0.1",
            "DESKMATE_PORT": str(self.port),
            "DESKMATE_DATA_DIR": str(data_dir),
            "DESKMATE_SECRET_KEY": SECRET_KEY,
            "DESKMATE_ADMIN_TOKEN": ADMIN_TOKEN,
            "DESKMATE_LOG_LEVEL": "INFO",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            **{f"DESKMATE_{key.upper()}": value for key, value in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / f"{name}.log"
        self._log: IO[bytes] | None = None

    @property
    def base(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli.main", "serve"],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_healthy()
        return self

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://{self.base}/healthz", timeout=2) as response:
                data: dict[str, Any] = json.loads(response.read())
                return data
        except OSError:
            return None

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
            health = self.health()
            if health is not None:
                return health
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer /healthz in {timeout:.0f} s:\n{self.log()}")

    def kill(self) -> None:
        """kill -9: no shutdown, no flushing, as a crash or an OOM kill would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self._close_log()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_log()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
