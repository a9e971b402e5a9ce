"""``deskmate users add | list | remove``: accounts in the configured database, passwords never echoed."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.service.accounts import Accounts
from bot.storage.sqlite.accounts import SQLiteAccountStore

PASSWORD = "correct horse battery"


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def login(data_dir: Path, username: str, password: str) -> str:
    async def run() -> str:
        store = await SQLiteAccountStore(data_dir / "deskmate.sqlite3").open()
        try:
            _token, account = await Accounts(store).login(username, password)
            return f"{account.username}:{account.role.value}:{account.display_name}"
        finally:
            await store.close()

    return asyncio.run(run())


def test_add_list_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path)
    assert main(["users", "list", "--data-dir", data]) == 0
    assert "No users yet; add one with `deskmate users add USERNAME --role admin`" in capsys.readouterr().out

    stdin(monkeypatch, PASSWORD + "\n")
    assert (
        main(["users", "add", "ann", "--role", "admin", "--name", "Ann Admin", "--password-stdin", "--data-dir", data])
        == 0
    )
    assert capsys.readouterr().out == "Added admin ann (Ann Admin)\n"
    stdin(monkeypatch, "another password\r\n")
    assert main(["users", "add", "bo", "--role", "agent", "--password-stdin", "--data-dir", data]) == 0

    assert main(["users", "list", "--data-dir", data]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines[1:]] == [["ann", "admin"], ["bo", "agent"]]
    assert lines[1].endswith("Ann Admin") and lines[2].endswith("bo")
    assert not any(PASSWORD.encode() in f.read_bytes() for f in tmp_path.glob("deskmate.sqlite3*"))
    assert login(tmp_path, "bo", "another password") == "bo:agent:bo"
    assert login(tmp_path, "ann", PASSWORD) == "ann:admin:Ann Admin"

    assert main(["users", "remove", "ann", "--data-dir", data]) == 0
    assert capsys.readouterr().out == "Removed ann (1 session ended)\n"
    assert main(["users", "remove", "ann", "--data-dir", data]) == 1
    assert "error: there is no user 'ann'; see `deskmate users list`" in capsys.readouterr().err


def test_uses_the_configured_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DESKMATE_DB_PATH", str(tmp_path / "elsewhere.db"))
    stdin(monkeypatch, PASSWORD + "\n")

    assert main(["users", "add", "ann", "--role", "agent", "--password-stdin"]) == 0

    assert (tmp_path / "elsewhere.db").is_file()
    assert main(["users", "list"]) == 0
    assert "ann" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "text", "message"),
    [
        (["Ann"], PASSWORD, "'Ann' is not allowed; use 2 to 32 lowercase letters"),
        (["ann"], "short\n", "too short (5 characters); use at least 10"),
        (["ann"], "", "no password on stdin; pipe one line in"),
    ],
)
def test_add_errors_say_what_to_do(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    text: str,
    message: str,
) -> None:
    stdin(monkeypatch, text)

    assert main(["users", "add", *argv, "--role", "agent", "--password-stdin", "--data-dir", str(tmp_path)]) == 1

    assert message in capsys.readouterr().err
    assert main(["users", "list", "--data-dir", str(tmp_path)]) == 0
    assert "No users yet" in capsys.readouterr().out


def test_add_refuses_a_taken_username(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(2):
        stdin(monkeypatch, PASSWORD + "\n")
        code = main(["users", "add", "ann", "--role", "agent", "--password-stdin", "--data-dir", str(tmp_path)])

    assert code == 1
    assert "already a user 'ann'; pick another name, or remove that user first" in capsys.readouterr().err


def test_role_is_required_and_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["users", "add", "ann", "--role", "owner", "--data-dir", str(tmp_path)])
    assert "invalid choice: 'owner'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["users", "add", "ann", "--data-dir", str(tmp_path)])


def test_password_is_asked_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter([PASSWORD, PASSWORD + "?", PASSWORD, PASSWORD])
    prompts: list[str] = []

    def fake_getpass(prompt: str = "Password: ") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("getpass.getpass", fake_getpass)

    assert main(["users", "add", "ann", "--role", "agent", "--data-dir", str(tmp_path)]) == 1
    assert "the two passwords differ; run the command again" in capsys.readouterr().err
    assert main(["users", "add", "ann", "--role", "agent", "--data-dir", str(tmp_path)]) == 0
    assert prompts == ["Password: ", "Password again: "] * 2
    assert login(tmp_path, "ann", PASSWORD) == "ann:agent:ann"
