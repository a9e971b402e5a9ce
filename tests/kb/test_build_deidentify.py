"""kb.build: dialogue turns and approved pairs are de-identified before they are embedded and indexed.

No model is trained: the intent model is a stand-in and the embedder hashes words.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bot.cli.main import main
from kb import build as build_module
from kb.build import MANIFEST, build_id, build_kb, kb_pairs
from kb.loader import load_kb
from retrieval.embedder import HashingEmbedder
from tests.kb.test_loader import KB_YML, jsonl, write_kb

DIALOGUES = [
    {
        "id": "p1",
        "turns": [
            {"speaker": "customer", "text": "Hi, I'm Harriet Quayle, where is LC-40221? Mail harriet@example.com"},
            {"speaker": "agent", "text": "Hi Harriet, LC-40221 goes to 14 Larch Road, Leeds, LS6 2QT today."},
            {"speaker": "customer", "text": "Thanks! Ms Quayle's phone is 07700 900461 {just in case}"},
            {"speaker": "agent", "text": "Noted, Harriet. Ask help@lampcorner.example for anything else."},
        ],
    },
    {
        "id": "p2",
        "turns": [
            {"speaker": "customer", "text": "my [email] and [order_id] from the old import"},
            {"speaker": "agent", "text": "Thanks, found it."},
        ],
    },
]
APPROVED = {"id": "cand_1", "question": "I'm Priya, is LC-77777 late?", "answer": "Hi Priya, LC-77777 left today."}
ENTITIES_YML = "entities:\n  - name: order_id\n    pattern: 'LC-\\d{5}'\n"
FAQ_YML = "faq:\n  - question: How do I reach you?\n    answer: Write to help@lampcorner.example any time.\n"
PERSONAL = ["Harriet", "Quayle", "LC-40221", "harriet@example.com", "Larch", "LS6 2QT", "07700", "Priya", "LC-77777"]


class StandInModel:
    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True)
        (folder / "stand-in.json").write_text("{}", encoding="utf-8")


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build_module, "train_intent_model", lambda *args, **kwargs: StandInModel())


@pytest.fixture
def kb_root(tmp_path: Path) -> Path:
    return write_kb(
        tmp_path / "kb",
        entities_yml=ENTITIES_YML,
        faq_yml=FAQ_YML,
        dialogues_jsonl=jsonl(DIALOGUES),
        approved_jsonl=json.dumps(APPROVED) + "\n",
    )


def test_kb_pairs_are_deidentified_and_counted(kb_root: Path) -> None:
    masked: Counter[str] = Counter()

    pairs = {pair.source: pair for pair in kb_pairs(load_kb(kb_root), masked=masked)}

    first = pairs["dialogue:p1#0"]
    assert first.customer == "Hi, I'm {name}, where is {order_id}? Mail {email}"
    assert first.reply == "Hi {name}, {order_id} goes to {address} today."
    later = pairs["dialogue:p1#2"]
    assert later.query == (
        "Hi, I'm {name}, where is {order_id}? Mail {email} | Hi {name}, {order_id} goes to {address} today. | "
        "Thanks! {name}'s phone is {phone} {{just in case}}"
    )
    assert later.reply == "Noted, {name}. Ask help@lampcorner.example for anything else."  # the shop's own
    assert pairs["dialogue:p2#0"].customer == "my {email} and {order_id} from the old import"
    approved = pairs["approved:cand_1"]
    assert (approved.query, approved.reply) == ("I'm {name}, is {order_id} late?", "Hi {name}, {order_id} left today.")
    assert pairs["faq:1"].reply == "Write to help@lampcorner.example any time."
    assert dict(masked) == {"name": 6, "order_id": 4, "email": 1, "address": 1, "phone": 1}


def test_the_build_indexes_no_personal_value_and_records_the_counts(kb_root: Path, tmp_path: Path, no_training) -> None:
    info = build_kb(kb_root, tmp_path / "builds", embedder=HashingEmbedder(), progress=False)

    indexed = (info.path / "retriever" / "pairs.jsonl").read_text(encoding="utf-8")
    assert not [value for value in PERSONAL if value in indexed]
    assert "{order_id}" in indexed and "{address}" in indexed
    manifest = json.loads((info.path / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["masked"] == {"address": 1, "email": 1, "name": 6, "order_id": 4, "phone": 1}
    assert info.masked == manifest["masked"]
    assert build_kb(kb_root, tmp_path / "builds", embedder=HashingEmbedder(), progress=False).masked == info.masked


def test_changing_the_masking_settings_changes_the_build(kb_root: Path) -> None:
    from training.config import TrainingConfig

    before = build_id(load_kb(kb_root), TrainingConfig())
    (kb_root / "kb.yml").write_text(KB_YML + "masking:\n  disable: [name]\n", encoding="utf-8")

    assert build_id(load_kb(kb_root), TrainingConfig()) != before


def test_kb_build_prints_the_counts(
    kb_root: Path, tmp_path: Path, no_training, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("retrieval.embedder.MiniLMEmbedder", HashingEmbedder)

    assert main(["kb", "build", str(kb_root), "--out", str(tmp_path / "builds")]) == 0

    assert "masked: 1 address, 1 email, 6 name, 4 order_id, 1 phone" in capsys.readouterr().out
