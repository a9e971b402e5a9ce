"""deskmate bench privacy: no customer is shown another customer's personal data.

Runs the real benchmark (the trained demo build, the chat service in-process, the demo's custom
actions, the echoing generator that repeats its grounding) on the demo KB and on a KB imported
from dialogues of ours full of names, addresses, cards, accounts and order numbers; and checks
that the benchmark does find a leak when a reply does leak.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from bot.bench.privacy import (
    EchoGenerator,
    find_leaks,
    forbidden_parts,
    fresh_values,
    run_privacy_benchmark,
    swap,
)
from bot.cli.main import main
from bot.ops.config import DEMO_KB
from kb.importer import import_dialogues
from kb.model import Dialogue, Turn

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "pii_dialogues.jsonl"


def test_fresh_values_keep_the_form_and_replace_every_occurrence() -> None:
    dialogue = Dialogue("d", (Turn("customer", "x"),))
    found = {"PC-402217": "order_id", "Harriet Quayle": "name", "Harriet": "name", "NR2 4PL": "postcode"}

    fresh = fresh_values(dialogue, found, random.Random(3))
    swapped = swap("Hi Harriet, PC-402217 goes to NR2 4PL. Thanks, Harriet Quayle", fresh)

    assert fresh["PC-402217"].startswith("PC-") and fresh["PC-402217"] != "PC-402217"
    assert fresh["Harriet"] == fresh["Harriet Quayle"].split()[0]
    assert "Harriet" not in swapped and "402217" not in swapped and "NR2 4PL" not in swapped


def test_an_addresss_parts_still_count_and_matching_is_whole_word() -> None:
    parts = forbidden_parts("14 Larch Road, Leeds, LS6 2QT", "address")

    assert {"14 Larch Road", "LS6 2QT"} <= parts.keys()
    assert find_leaks("d", "bot_reply", "It goes to LS6 2QT today.", parts)
    assert not find_leaks("d", "bot_reply", "Call 0LS6 2QTX.", {"LS6 2QT": "postcode"})


@pytest.mark.slow
async def test_the_demo_kb_leaks_nothing(demo_build, demo_builds_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    report = await run_privacy_benchmark(
        DEMO_KB, builds_dir=demo_builds_dir, embedder=embedder, generator=EchoGenerator()
    )

    assert report.replayed >= 15 and report.values.get("order_id", 0) >= 20
    assert report.texts.get("suggestion", 0) > 0 and report.texts.get("bot_reply", 0) > 0
    assert report.leaks == [], report.leaks[:5]


@pytest.mark.slow
async def test_a_kb_imported_from_dialogues_full_of_personal_data_leaks_nothing(
    demo_build, demo_builds_dir: Path, embedder, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(DEMO_KB, kb)
    (kb / "dialogues.jsonl").write_text("", encoding="utf-8")  # the same intents: the classifier is reused
    summary = import_dialogues(FIXTURE, kb)
    assert summary.imported == 20 and {"name", "address", "email", "card", "account"} <= summary.masked.keys()

    report = await run_privacy_benchmark(
        kb, builds_dir=demo_builds_dir, embedder=embedder, dialogues_file=FIXTURE, generator=EchoGenerator()
    )

    assert report.replayed >= 18
    assert {"name", "address", "email", "order_id"} <= report.values.keys()
    assert report.leaks == [], report.leaks[:5]


def test_the_command_exits_1_on_a_leak(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from bot.bench import privacy

    async def leaking(*args, **kwargs):  # type: ignore[no-untyped-def]
        report = privacy.PrivacyReport("kb", "none")
        report.leaks.append(privacy.Leak("d1", "suggestion", "order_id", "PC-1", "PC-1 is here"))
        return report

    monkeypatch.setattr(privacy, "run_privacy_benchmark", leaking)
    monkeypatch.setattr("bot.cli.bench._configure_logging", lambda level: None)  # keep the session's log levels
    monkeypatch.setattr("retrieval.embedder.MiniLMEmbedder", lambda: None)
    assert main(["bench", "privacy", "--generator", "none", "--builds", str(tmp_path)]) == 1
