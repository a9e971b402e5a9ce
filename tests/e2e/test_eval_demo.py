"""`deskmate eval` on the really trained demo model and the demo KB's held-out evaluation set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.ops.config import DEMO_KB

pytestmark = pytest.mark.slow


def test_eval_writes_the_report_for_the_demo_model(demo_build, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "report"
    assert main(["eval", str(demo_build.path), "--test", str(DEMO_KB / "eval.csv"), "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["in_scope_examples"] == 144
    assert metrics["accuracy"] >= 0.8  # unseen wordings of the demo intents
    assert metrics["out_of_scope"]["examples"] == 30
    # the server's gate (nearest example, with the KB's out-of-scope examples) is applied: 93% measured
    assert metrics["out_of_scope"]["recall"] >= 0.8
    for name in ("confusion.png", "reliability.png", "coverage.png", "misclassified.csv", "index.html"):
        assert (out / name).is_file()
    printed = capsys.readouterr().out
    assert "accuracy" in printed and "index.html" in printed


def test_eval_refuses_a_test_file_with_unknown_intents(demo_build, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    test = tmp_path / "bad.csv"
    test.write_text("text,intent\nwhere are my skis,ski_rental\n", encoding="utf-8")
    assert main(["eval", str(demo_build.path), "--test", str(test), "--out", str(tmp_path / "r")]) == 1
    assert "ski_rental" in capsys.readouterr().err
