"""bot.app: the secrets a start resolves from the data folder, and what it logs about them."""

from __future__ import annotations

import asyncio
import logging
import stat
from pathlib import Path

import pytest

from bot.app import resolve_secrets, serve
from bot.errors import ConfigError
from bot.ops.config import Settings
from bot.ops.secrets_file import write_secret
from bot.service.session_tokens import SessionSigner

ADMIN_TOKEN = "kept-admin-token-0123456789"


def start(data_dir: Path, **env: str) -> Settings:
    """The settings one ``deskmate serve`` start resolves, from ``DESKMATE_*`` variables ``env``."""
    return resolve_secrets(Settings.from_env({f"DESKMATE_{k.upper()}": v for k, v in env.items()}, data_dir=data_dir))


def test_two_starts_on_one_data_folder_accept_the_same_customer_session(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.app")
    first = start(tmp_path)
    token = SessionSigner(first.secret_key).issue()

    second = start(tmp_path)  # the server restarted

    assert first.secret_key is not None and len(first.secret_key) >= 32
    assert second.secret_key == first.secret_key
    SessionSigner(second.secret_key).verify(token)  # the returning customer gets their conversation back
    key_file = tmp_path / "secret-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    lines = [r.getMessage() for r in caplog.records if "customer sessions" in r.getMessage()]
    assert len(lines) == 2 and str(key_file) in lines[0]
    assert first.secret_key not in caplog.text


def test_the_secret_key_variable_wins_and_no_key_is_kept(tmp_path: Path) -> None:
    key = "k" * 40
    assert start(tmp_path, secret_key=key).secret_key == key
    assert not (tmp_path / "secret-key").exists()


def test_with_a_database_url_and_no_key_the_start_is_still_refused(tmp_path: Path) -> None:
    settings = Settings.from_env({"DESKMATE_DATABASE_URL": "postgresql://u:p@127.0.0.1:1/deskmate"}, data_dir=tmp_path)

    with pytest.raises(ConfigError, match="DESKMATE_DATABASE_URL is set but DESKMATE_SECRET_KEY is not"):
        asyncio.run(serve(settings))
    assert not (tmp_path / "secret-key").exists()  # replicas never make their own key


def test_the_kept_admin_token_is_used_when_the_variable_is_unset(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.app")
    assert start(tmp_path).admin_token is None  # none kept, none made: admin stays off
    assert not (tmp_path / "admin-token").exists()

    write_secret(tmp_path / "admin-token", ADMIN_TOKEN)
    caplog.clear()
    assert start(tmp_path).admin_token == ADMIN_TOKEN
    (line,) = [r.getMessage() for r in caplog.records if "admin sign-in" in r.getMessage()]
    assert str(tmp_path / "admin-token") in line and "`deskmate admin token` shows it" in line
    assert ADMIN_TOKEN not in caplog.text

    caplog.clear()
    assert start(tmp_path, admin_token="from-the-environment-0123").admin_token == "from-the-environment-0123"
    assert "admin sign-in" not in caplog.text


def test_a_kept_admin_token_others_may_read_stops_the_start(tmp_path: Path) -> None:
    write_secret(tmp_path / "admin-token", ADMIN_TOKEN)
    (tmp_path / "admin-token").chmod(0o644)
    with pytest.raises(ConfigError, match=f"chmod 600 {tmp_path / 'admin-token'}"):
        start(tmp_path)
