"""bot.app.prepare_build: the first start says why it trains, before it does; a start that reuses the model does not."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot import app
from bot.ops.config import Settings
from kb.build import BuildInfo
from kb.loader import load_kb
from retrieval.embedder import HashingEmbedder

DEMO = Path(__file__).resolve().parents[2] / "kb" / "demo"
EXPLAINED = "First start with these intents: training the intent model"


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[BuildInfo]:
    """Stands in for build_kb (no training here): records the builds it was asked for."""
    kb = load_kb(DEMO)
    made: list[BuildInfo] = []

    def fake_build_kb(source: Any, builds_dir: Path, **_: Any) -> BuildInfo:
        info = BuildInfo(f"b{len(made)}", tmp_path / f"b{len(made)}", kb.name, "c", kb.training_hash(), 0.0)
        made.append(info)
        return info

    monkeypatch.setattr(app, "build_kb", fake_build_kb)
    return made


def test_the_first_start_explains_the_training(built: list[BuildInfo], tmp_path: Path, capsys: Any) -> None:
    app.prepare_build(Settings.from_env({}, kb_path=DEMO, data_dir=tmp_path), HashingEmbedder())

    err = capsys.readouterr().err
    assert len(built) == 1
    assert EXPLAINED in err and "later starts reuse it" in err
    assert err.index("Preparing the knowledge base") < err.index(EXPLAINED)


def test_a_build_with_the_same_intents_is_not_explained_again(
    built: list[BuildInfo], tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = load_kb(DEMO)
    earlier = BuildInfo("old", tmp_path / "old", kb.name, "other", kb.training_hash(), 0.0)
    monkeypatch.setattr(app, "list_builds", lambda _: [earlier, replace(earlier, training_hash="x")])

    app.prepare_build(Settings.from_env({}, kb_path=DEMO, data_dir=tmp_path), HashingEmbedder())

    assert len(built) == 1  # the KB changed, so it is built, but its classifier is reused: nothing to explain
    assert EXPLAINED not in capsys.readouterr().err
