"""``deskmate admin token``, and ``deskmate kb reload`` signing in with it (or with a wrong token).

``kb reload`` talks to the real admin websocket handler on a loopback port; its reloader is a stub
that answers at once, so no KB is built here (tests/e2e/test_reload.py reloads for real).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

import bot.web.admin
from bot.cli.main import main
from bot.service.reloader import ReloadResult
from bot.storage.reloads import ReloadAction, ReloadOutcome, ReloadRecord
from bot.web.admin import AdminConnection

SERVER_TOKEN = "the-servers-admin-token-0123"


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data folder as ``DESKMATE_DATA_DIR``, and no admin token in the environment."""
    monkeypatch.delenv("DESKMATE_ADMIN_TOKEN", raising=False)
    monkeypatch.setenv("DESKMATE_DATA_DIR", str(tmp_path / "var"))
    return tmp_path / "var"


def token_command(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["admin", "token", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_admin_token_is_made_once_kept_owner_only_and_printed_again(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = token_command(capsys)
    token = out.strip()
    assert code == 0 and out == token + "\n" and len(token) >= 16  # stdout is the token alone
    kept = data_dir / "admin-token"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert str(kept) in err

    assert token_command(capsys)[1] == out  # printed again, not replaced

    code, out, err = token_command(capsys, "--new")
    assert code == 0 and out.strip() != token and len(out.strip()) >= 16
    assert token_command(capsys)[1] == out
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_a_kept_token_others_may_read_is_refused_with_the_fix(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token_command(capsys)
    (data_dir / "admin-token").chmod(0o644)
    code, out, err = token_command(capsys)
    assert code == 1 and out == ""
    assert f"run `chmod 600 {data_dir / 'admin-token'}`" in err


def test_the_data_dir_option_and_a_note_when_the_variable_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DESKMATE_ADMIN_TOKEN", SERVER_TOKEN)
    code, out, err = token_command(capsys, "--data-dir", str(tmp_path / "elsewhere"))
    assert code == 0 and (tmp_path / "elsewhere" / "admin-token").read_text().strip() == out.strip()
    assert "DESKMATE_ADMIN_TOKEN is set in this shell" in err


class StubReloader:
    """Answers a reload at once with a serving record."""

    busy = False

    async def reload(self, *, actor: str) -> ReloadResult:
        return ReloadResult(ReloadRecord(time.time(), actor, ReloadAction.RELOAD, ReloadOutcome.SERVING, "kb-1", "c0"))


@contextlib.contextmanager
def admin_server(token: str) -> Iterator[str]:
    """``127.0.0.1:PORT`` of the admin websocket handler, served from a thread (the CLI runs its own loop)."""
    started = threading.Event()
    state: dict[str, Any] = {}

    async def handler(ws: ServerConnection) -> None:
        await AdminConnection(ws, StubReloader(), token).run()  # type: ignore[arg-type]

    async def run() -> None:
        state["stop"] = asyncio.Event()
        state["loop"] = asyncio.get_running_loop()
        async with serve(handler, "127.0.0.1", 0) as server:
            state["port"] = server.sockets[0].getsockname()[1]
            started.set()
            await state["stop"].wait()

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    assert started.wait(10), "the admin server did not start"
    try:
        yield f"127.0.0.1:{state['port']}"
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(10)


def test_kb_reload_with_a_wrong_token_says_it_is_wrong_and_exits_non_zero(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DESKMATE_ADMIN_TOKEN", "not-the-servers-token-0123")
    with admin_server(SERVER_TOKEN) as server:
        began = time.monotonic()
        code = main(["kb", "reload", "--server", server])
        waited = time.monotonic() - began
    err = capsys.readouterr().err
    assert code != 0
    assert "the admin token is wrong" in err
    assert "DESKMATE_ADMIN_TOKEN" in err and "`deskmate admin token`" in err
    assert '"type": "auth"' not in err  # no protocol text for a person who typed the wrong token
    assert waited >= bot.web.admin.FAILED_AUTH_DELAY  # the delay against guessing is kept


def test_kb_reload_signs_in_with_the_kept_token(capsys: pytest.CaptureFixture[str]) -> None:
    token = token_command(capsys)[1].strip()  # DESKMATE_ADMIN_TOKEN is unset

    with admin_server(token) as server:
        assert main(["kb", "reload", "--server", server]) == 0
    assert "Serving kb-1" in capsys.readouterr().out


def test_kb_reload_without_any_token_says_how_to_make_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "reload", "--server", "127.0.0.1:9"]) == 1
    assert "run `deskmate admin token`" in capsys.readouterr().err


async def test_a_first_frame_that_is_not_auth_still_gets_the_protocol_explanation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bot.web.admin, "FAILED_AUTH_DELAY", 0.0)

    async def handler(ws: ServerConnection) -> None:
        await AdminConnection(ws, StubReloader(), SERVER_TOKEN).run()  # type: ignore[arg-type]

    async def refusal(first: dict[str, Any]) -> dict[str, Any]:
        async with connect(f"ws://127.0.0.1:{port}") as ws:
            await ws.send(json.dumps(first))
            return dict(json.loads(await ws.recv()))

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        not_auth = await refusal({"type": "reload", "id": "r1"})
        bad_auth = await refusal({"type": "auth", "token": ["not", "a", "string"]})
        wrong = await refusal({"type": "auth", "token": "not-the-servers-token-0123"})

    for answer in (not_auth, bad_auth, wrong):
        assert (answer["type"], answer["code"]) == ("error", "unauthorized")
    assert not_auth["message"].startswith('send {"type": "auth", "token": ...} first')
    assert bad_auth["message"] == not_auth["message"]
    assert "wrong" in wrong["message"] and "`deskmate admin token`" in wrong["message"]
