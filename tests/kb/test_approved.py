"""kb.approved: approved.jsonl loads into KnowledgeBase.approved, is validated line by line, and feeds kb_pairs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.errors import KBValidationError
from kb.approved import APPROVED, append_approved
from kb.build import kb_pairs
from kb.loader import FILES, load_kb
from kb.model import ApprovedPair
from tests.kb.test_loader import issues_of, only_issue, write_kb

PAIRS = [
    {
        "id": "cand_1",
        "question": "can I mount the lamp on a wall",
        "answer": "Yes, with the wall kit WK-2.",
        "agent": "maria",
        "approved_at": 1718000000.5,
        "conversation_id": "c_1",
    },
    {"id": "cand_2", "question": "does the shade fit the L-100", "answer": "Only the L-200 shade does."},
]


def lines(*objects: object) -> str:
    return "".join(json.dumps(o) + "\n" for o in objects)


def test_approved_pairs_load(tmp_path: Path) -> None:
    kb = load_kb(write_kb(tmp_path, approved_jsonl=lines(*PAIRS)))

    assert kb.approved == (
        ApprovedPair(
            "cand_1", "can I mount the lamp on a wall", "Yes, with the wall kit WK-2.", "maria", 1718000000.5, "c_1"
        ),
        ApprovedPair("cand_2", "does the shade fit the L-100", "Only the L-200 shade does."),
    )
    assert APPROVED in FILES  # builds copy it beside the other KB files


def test_approved_jsonl_is_optional_and_keeps_the_hash(tmp_path: Path) -> None:
    without = load_kb(write_kb(tmp_path / "without"))
    empty = load_kb(write_kb(tmp_path / "empty", approved_jsonl="\n"))

    assert without.approved == () == empty.approved
    assert without.content_hash() == empty.content_hash()


def test_approved_pairs_change_the_content_hash_but_not_the_training_hash(tmp_path: Path) -> None:
    without = load_kb(write_kb(tmp_path / "without"))
    with_pairs = load_kb(write_kb(tmp_path / "with", approved_jsonl=lines(*PAIRS)))
    edited = load_kb(write_kb(tmp_path / "edited", approved_jsonl=lines(PAIRS[0], {**PAIRS[1], "answer": "No."})))

    assert with_pairs.training_hash() == without.training_hash()
    assert len({without.content_hash(), with_pairs.content_hash(), edited.content_hash()}) == 3


def test_kb_pairs_include_approved_pairs(tmp_path: Path) -> None:
    kb = load_kb(write_kb(tmp_path, approved_jsonl=lines(*PAIRS)))

    by_source = {pair.source: pair for pair in kb_pairs(kb)}

    first = by_source["approved:cand_1"]
    assert (first.query, first.customer, first.reply) == (
        "can I mount the lamp on a wall",
        "can I mount the lamp on a wall",
        "Yes, with the wall kit WK-2.",
    )
    assert by_source["approved:cand_2"].reply == "Only the L-200 shade does."
    assert {"dialogue:t1#0", "faq:1"} <= set(by_source)  # the other sources are still there


def test_kb_pairs_collapse_an_approved_pair_that_repeats_a_faq_entry(tmp_path: Path) -> None:
    repeat = {"id": "cand_3", "question": "how long is the WARRANTY?", "answer": "two years on every lamp."}
    kb = load_kb(write_kb(tmp_path, approved_jsonl=lines(repeat)))

    sources = [pair.source for pair in kb_pairs(kb)]

    assert "faq:2" in sources
    assert "approved:cand_3" not in sources


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("{not json", "invalid JSON"),
        ('["a", "b"]', 'each line must be a JSON object like {"id": "a1"'),
        ('{"question": "q", "answer": "a"}', "approved entry needs an `id` (a string)"),
        ('{"id": "x", "question": " ", "answer": "a"}', "needs a non-empty `question`"),
        ('{"id": "x", "question": "q"}', "needs a non-empty `answer`"),
        ('{"id": "x", "question": "q", "answer": "a", "agent": 7}', "`agent` must be a string or null, not 7"),
        ('{"id": "x", "question": "q", "answer": "a", "approved_at": "today"}', "`approved_at` must be a number"),
        ('{"id": "x", "question": "q", "answer": "a", "conversation_id": []}', "`conversation_id` must be a string"),
    ],
)
def test_malformed_lines_name_file_line_and_fix(tmp_path: Path, line: str, fragment: str) -> None:
    issue = only_issue(write_kb(tmp_path, approved_jsonl=lines(PAIRS[0]) + "\n" + line + "\n"))

    assert (issue.file, issue.line) == (APPROVED, 3)
    assert fragment in issue.message


def test_duplicate_ids_and_several_problems_are_reported_together(tmp_path: Path) -> None:
    text = lines(PAIRS[0], {**PAIRS[1], "id": "cand_1"}, {"id": "cand_4", "question": "q"})

    issues = issues_of(write_kb(tmp_path, approved_jsonl=text))

    assert [(i.file, i.line) for i in issues] == [(APPROVED, 2), (APPROVED, 3)]
    assert "approved id `cand_1` is used twice (first on line 1); remove one" in issues[0].message


def test_approved_jsonl_must_be_utf8(tmp_path: Path) -> None:
    root = write_kb(tmp_path)
    (root / APPROVED).write_bytes(b'{"id": "x", "question": "caf\xe9", "answer": "a"}\n')

    issue = only_issue(root)

    assert (issue.file, issue.line) == (APPROVED, None)
    assert "save it as UTF-8" in issue.message


# --- append_approved ------------------------------------------------------------------------------


def test_append_creates_then_appends(tmp_path: Path) -> None:
    pair = ApprovedPair("cand_1", "can I mount it", "Yes, with the wall kit.", "maria", 1.5, "c_1")

    assert append_approved(tmp_path, pair) is True
    (tmp_path / APPROVED).write_text((tmp_path / APPROVED).read_text(encoding="utf-8").rstrip("\n"), encoding="utf-8")
    assert append_approved(tmp_path, ApprovedPair("cand_2", "is it dimmable", "Yes.")) is True

    written = [json.loads(line) for line in (tmp_path / APPROVED).read_text(encoding="utf-8").splitlines()]
    assert written == [
        {
            "id": "cand_1",
            "question": "can I mount it",
            "answer": "Yes, with the wall kit.",
            "agent": "maria",
            "approved_at": 1.5,
            "conversation_id": "c_1",
        },
        {
            "id": "cand_2",
            "question": "is it dimmable",
            "answer": "Yes.",
            "agent": None,
            "approved_at": None,
            "conversation_id": None,
        },
    ]
    # no temporary file left behind; the lock file that serialises replicas stays (empty)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".{APPROVED}.lock", APPROVED]


def test_append_skips_a_repeated_id_or_pair(tmp_path: Path) -> None:
    assert append_approved(tmp_path, ApprovedPair("cand_1", "Is it  dimmable?", "Yes.")) is True
    before = (tmp_path / APPROVED).read_bytes()

    assert append_approved(tmp_path, ApprovedPair("cand_1", "something else", "entirely")) is False
    assert append_approved(tmp_path, ApprovedPair("cand_2", "is it DIMMABLE?", "yes.")) is False
    assert (tmp_path / APPROVED).read_bytes() == before
    assert append_approved(tmp_path, ApprovedPair("cand_3", "is it dimmable?", "No.")) is True


def test_append_refuses_a_broken_file(tmp_path: Path) -> None:
    (tmp_path / APPROVED).write_text('{"id": "x"}\n', encoding="utf-8")

    with pytest.raises(
        KBValidationError, match=re.escape("approved.jsonl:1: approved entry needs a non-empty `question`")
    ):
        append_approved(tmp_path, ApprovedPair("cand_1", "q", "a"))
    assert (tmp_path / APPROVED).read_text(encoding="utf-8") == '{"id": "x"}\n'
