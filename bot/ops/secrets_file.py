"""A secret kept in a file of the data folder, readable by its owner only (mode 0600).

The embedded single-server setup keeps two of them: the admin token ``deskmate admin token``
makes, and the key that signs customer sessions when ``DESKMATE_SECRET_KEY`` is unset. A file is
written whole under a temporary name and linked into place, so a reader never sees half a secret
and two processes creating the same one at once end up agreeing on the first.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

from bot.errors import ConfigError

OWNER_ONLY = 0o600


def read_secret(path: Path, *, min_length: int = 1) -> str | None:
    """The secret kept in ``path``, or None when there is no such file.

    A file that other users may read or write, or whose secret is shorter than ``min_length``,
    is refused with what to do about it.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read the secret in {path} ({exc.strerror}); check the file and its folder") from exc
    with os.fdopen(fd, encoding="utf-8") as file:
        mode = stat.S_IMODE(os.fstat(file.fileno()).st_mode)
        if mode & 0o077:
            raise ConfigError(
                f"{path} holds a secret but other users may read or change it (mode {mode:o}); "
                f"run `chmod 600 {path}` and try again"
            )
        secret = file.read().strip()
    if len(secret) < min_length:
        raise ConfigError(
            f"{path} holds a {len(secret)}-character secret; it needs at least {min_length}: "
            "delete the file to have a new one made"
        )
    return secret


def write_secret(path: Path, secret: str) -> None:
    """Keep ``secret`` in ``path`` (mode 0600), replacing the one there."""
    staged = _staged(path, secret)
    try:
        os.replace(staged, path)
    except OSError:
        staged.unlink()
        raise


def read_or_create_secret(path: Path, make: Callable[[], str], *, min_length: int = 1) -> tuple[str, bool]:
    """The secret kept in ``path``, made with ``make()`` and kept there when there is none yet.

    Returns the secret and whether it was made by this call.
    """
    secret = read_secret(path, min_length=min_length)
    if secret is not None:
        return secret, False
    made = make()
    staged = _staged(path, made)
    try:
        os.link(staged, path)  # fails when another process kept one first: that one wins
    except FileExistsError:
        existing = read_secret(path, min_length=min_length)
        assert existing is not None  # the file was there a moment ago, and it is only ever replaced whole
        return existing, False
    finally:
        staged.unlink()
    return made, True


def _staged(path: Path, secret: str) -> Path:
    """A new owner-only file beside ``path`` holding ``secret``, ready to be moved or linked into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, OWNER_ONLY)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), OWNER_ONLY)  # whatever the umask
            file.write(secret + "\n")
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            staged.unlink()
        raise
    return staged
