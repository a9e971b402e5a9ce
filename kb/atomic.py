"""Writing a KB file in one step, so a server reading it never sees half a file, one writer at a time.

The new content goes to a temporary file beside the old one, which is then swapped in with
``os.replace``; on any error the temporary file is removed and the old file is left as it was.
Used by ``kb import`` (dialogues.jsonl), by approving candidates (approved.jsonl) and by the admin
inbox's edits (kb/edits/: intents.yml, responses.yml).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path


def append_atomically(path: Path, lines: list[str]) -> None:
    """Write ``path`` plus ``lines`` to a temporary file beside it, then swap it in with os.replace."""
    old = path.read_bytes() if path.is_file() else b""
    if old and not old.endswith(b"\n"):
        old += b"\n"
    replace_atomically(path, old + "".join(line + "\n" for line in lines).encode("utf-8"))


def replace_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` (keeping its mode), then swap it in with os.replace."""
    mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else 0o644
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


@contextlib.contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_file`` (created if needed) across processes.

    Replicas sharing a KB folder may change the same file at once: each read-modify-write of a KB
    file happens under the lock named after it.
    """
    with lock_file.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
