"""``deskmate kb import``: prints the summary; errors name the line and exit with status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.main import main


def test_kb_import_prints_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "kb.yml").write_text("name: Lamp Corner\n", encoding="utf-8")
    source = tmp_path / "faq.csv"
    source.write_text(
        "question,answer\nI am ann@example.com,Hello\nI am bob@example.com,hello\nbad row,\n", encoding="utf-8"
    )

    assert main(["kb", "import", str(source), "--kb", str(kb)]) == 2
    assert f"{source}:4: the row has no answer" in capsys.readouterr().err
    assert not (kb / "dialogues.jsonl").exists()

    source.write_text(source.read_text(encoding="utf-8").replace("bad row,\n", ""), encoding="utf-8")
    assert main(["kb", "import", str(source), "--kb", str(kb)]) == 0

    out = capsys.readouterr().out
    assert "Imported 1 of 2 dialogues" in out and "1 duplicates dropped" in out and "masked: 1 email" in out
    (line,) = (kb / "dialogues.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["turns"][0]["text"] == "I am {email}"


def test_kb_import_defaults_to_the_configured_kb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    kb = tmp_path / "configured"
    kb.mkdir()
    (kb / "kb.yml").write_text("name: Lamp Corner\n", encoding="utf-8")
    source = tmp_path / "chats.jsonl"
    source.write_text(json.dumps({"turns": [{"speaker": "user", "text": "hi"}]}) + "\n", encoding="utf-8")
    monkeypatch.setenv("DESKMATE_KB_PATH", str(kb))

    assert main(["kb", "import", str(source)]) == 0

    assert "masked: nothing" in capsys.readouterr().out
    assert (kb / "dialogues.jsonl").is_file()
