"""``deskmate conversations export`` on a real SQLite file (no model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.core.events import BOT_REPLY, CUSTOMER_MESSAGE, NewEvent
from bot.storage.sqlite.store import SQLiteStore


async def _conversation(db: Path) -> str:
    store = await SQLiteStore(db).open()
    try:
        conversation = await store.create_conversation("hash")
        await store.append(
            conversation,
            [
                NewEvent(BOT_REPLY, {"text": "Hi!", "source": "system"}),
                NewEvent(CUSTOMER_MESSAGE, {"text": "<b>where</b> is my order"}, client_id="m1"),
            ],
        )
        return conversation
    finally:
        await store.close()


async def test_export_writes_every_event_as_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESKMATE_DB_PATH", raising=False)
    conversation = await _conversation(tmp_path / "deskmate.sqlite3")
    out = tmp_path / "t.json"

    import asyncio

    code = await asyncio.to_thread(
        main, ["conversations", "export", conversation, "--data-dir", str(tmp_path), "--out", str(out)]
    )

    assert code == 0
    transcript = json.loads(out.read_text(encoding="utf-8"))
    assert transcript["conversation_id"] == conversation and transcript["state"] == "BOT"
    assert [e["kind"] for e in transcript["events"]] == ["bot_reply", "customer_message"]
    assert transcript["events"][1]["text"] == "<b>where</b> is my order" and transcript["events"][1]["id"] == "m1"


def test_export_of_an_unknown_conversation_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    asyncio.run(_conversation(tmp_path / "deskmate.sqlite3"))
    assert main(["conversations", "export", "c_nope", "--data-dir", str(tmp_path)]) == 1
    assert "no conversation c_nope" in capsys.readouterr().err
