"""bot.ops.secrets_file: a secret kept in the data folder, owner-only, made once and reused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.ops.secrets_file import read_or_create_secret, read_secret, write_secret


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_made_once_owner_only_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret"  # the data folder does not exist yet
    assert read_secret(path) is None

    first, made = read_or_create_secret(path, lambda: "first-secret-0123456789")
    again, made_again = read_or_create_secret(path, lambda: "never-used-0123456789")

    assert (first, made) == ("first-secret-0123456789", True)
    assert (again, made_again) == (first, False)
    assert mode(path) == 0o600
    assert read_secret(path) == first
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no staging file left behind


def test_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        read_or_create_secret(tmp_path / "secret", lambda: "s" * 40)
        write_secret(tmp_path / "other", "o" * 40)
    finally:
        os.umask(previous)
    assert mode(tmp_path / "secret") == 0o600
    assert mode(tmp_path / "other") == 0o600


def test_write_replaces_the_kept_secret(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    read_or_create_secret(path, lambda: "old-secret-0123456789")
    write_secret(path, "new-secret-0123456789")
    assert read_secret(path) == "new-secret-0123456789"
    assert mode(path) == 0o600


def test_when_another_process_keeps_one_first_its_secret_wins(tmp_path: Path) -> None:
    path = tmp_path / "secret"

    def make_while_another_process_keeps_one() -> str:
        write_secret(path, "the-other-process-0123456789")
        return "ours-0123456789-0123456789"

    assert read_or_create_secret(path, make_while_another_process_keeps_one) == ("the-other-process-0123456789", False)
    assert read_secret(path) == "the-other-process-0123456789"


@pytest.mark.parametrize("loose", [0o644, 0o640, 0o604, 0o660])
def test_a_file_others_may_read_is_refused_with_the_chmod_to_run(tmp_path: Path, loose: int) -> None:
    path = tmp_path / "secret"
    path.write_text("a-secret-0123456789\n", encoding="utf-8")
    path.chmod(loose)

    with pytest.raises(ConfigError, match=f"run `chmod 600 {path}`"):
        read_secret(path)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_or_create_secret(path, lambda: "never-used-0123456789")
    assert path.read_text(encoding="utf-8") == "a-secret-0123456789\n"  # left as it was


def test_a_secret_too_short_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    write_secret(path, "short")
    with pytest.raises(ConfigError, match=r"5-character secret; it needs at least 16: delete the file"):
        read_secret(path, min_length=16)
