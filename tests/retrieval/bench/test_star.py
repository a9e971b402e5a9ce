"""retrieval.bench.star_data: reading STAR-shaped files, the seeded split, labelled pairs and queries."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bot.errors import TrainingError
from retrieval.bench.star_data import (
    Dialogue,
    Turn,
    dialogue_of,
    labelled_pairs,
    labelled_queries,
    load_star,
    pair_dialogues,
    source_of,
    split_dialogues,
)
from tests.retrieval.star_fixture import NAMES, balance_dialogue, turn, write_star


def test_load_star_reads_turns_and_labels(tmp_path: Path) -> None:
    dialogues = load_star(write_star(tmp_path / "star.jsonl.gz"))

    assert [d.dialogue_id for d in dialogues] == [str(i) for i in range(1, 11)]
    first = dialogues[0]
    assert first.turns[0] == Turn("user", "hi there", None)
    assert first.turns[1] == Turn("agent", "Hello, how can I help you today?", "hello")
    assert len(first.turns) == 15


def test_load_star_limit_keeps_the_first_dialogues(tmp_path: Path) -> None:
    dialogues = load_star(write_star(tmp_path / "star.jsonl.gz"), limit=3)

    assert [d.dialogue_id for d in dialogues] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        (b"not gzip at all", "not a gzipped JSON-lines STAR file"),
        (gzip.compress(b'{"dialogue_id": 1}\n'), "star.jsonl.gz:1: a dialogue needs"),
        (gzip.compress(b"\n"), "holds no dialogues"),
    ],
)
def test_load_star_errors_say_what_to_do(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "star.jsonl.gz"
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(TrainingError, match=message):
        load_star(path)


def _dialogues(count: int) -> list[Dialogue]:
    return [Dialogue(f"d{i:03d}", (Turn("user", "hi", None),)) for i in range(count)]


def test_split_is_deterministic_disjoint_and_80_20() -> None:
    dialogues = _dialogues(50)

    first = split_dialogues(dialogues, seed=13)
    again = split_dialogues(list(reversed(dialogues)), seed=13)  # input order does not matter
    other = split_dialogues(dialogues, seed=14)

    train_ids = {d.dialogue_id for d in first.train}
    test_ids = {d.dialogue_id for d in first.test}
    assert len(test_ids) == 10 and len(train_ids) == 40
    assert not train_ids & test_ids
    assert train_ids | test_ids == {d.dialogue_id for d in dialogues}
    assert [d.dialogue_id for d in again.test] == [d.dialogue_id for d in first.test]
    assert [d.dialogue_id for d in again.train] == [d.dialogue_id for d in first.train]
    assert {d.dialogue_id for d in other.test} != test_ids


def test_split_refuses_repeated_ids() -> None:
    with pytest.raises(TrainingError, match="dialogue ids repeat"):
        split_dialogues(_dialogues(3) + _dialogues(1), seed=13)


def _one(tmp_path: Path) -> list[Dialogue]:
    return load_star(write_star(tmp_path / "star.jsonl.gz", [balance_dialogue(7, "Ann Lee")]))


def test_labelled_pairs_keep_context_label_and_free_text_replies(tmp_path: Path) -> None:
    pairs = labelled_pairs(_one(tmp_path), context_turns=2)

    assert [p.pair.source for p in pairs] == [f"star:7#{i}" for i in (0, 2, 4, 7, 9, 11, 13)]
    assert [p.label for p in pairs] == [
        "hello",
        "ask_name",
        "ask_account_number",
        None,  # "one moment please" was free text
        "inform_balance",
        "anything_else",
        "goodbye_1",
    ]
    by_source = {p.pair.source: p.pair for p in pairs}
    assert by_source["star:7#0"].query == "hi there"
    assert by_source["star:7#4"].query == (
        "I would like to know my account balance | Sure. What is your full name? | Ann Lee"
    )
    assert by_source["star:7#4"].customer == "Ann Lee"
    assert by_source["star:7#4"].reply == "Thanks. And your account number?"
    # "it is 1007" is followed by another user turn, so it makes no pair, but it is context for the next
    assert by_source["star:7#7"].query == "Thanks. And your account number? | it is 1007 | the checking one"


def test_labelled_pairs_context_size(tmp_path: Path) -> None:
    dialogues = _one(tmp_path)

    assert labelled_pairs(dialogues, context_turns=0)[2].pair.query == "Ann Lee"
    assert labelled_pairs(dialogues, context_turns=1)[2].pair.query == "Sure. What is your full name? | Ann Lee"


def test_labelled_pairs_drop_repeated_query_and_reply(tmp_path: Path) -> None:
    dialogues = load_star(
        write_star(tmp_path / "star.jsonl.gz", [balance_dialogue(1, NAMES[0]), balance_dialogue(2, NAMES[1])])
    )

    pairs = labelled_pairs(dialogues, context_turns=2)

    # the name and account-number exchanges differ; the other five repeat word for word
    assert len(pairs) == 7 + 2
    assert {p.pair.source for p in pairs if p.pair.source.startswith("star:2#")} == {"star:2#4", "star:2#7"}


def test_pair_dialogues_name_every_dialogue_holding_a_kept_pair(tmp_path: Path) -> None:
    rows = [balance_dialogue(1, NAMES[0]), balance_dialogue(2, NAMES[1]), balance_dialogue(3, NAMES[0])]
    dialogues = load_star(write_star(tmp_path / "star.jsonl.gz", rows))

    holders = pair_dialogues(dialogues, context_turns=2)

    assert set(holders) == {p.pair.source for p in labelled_pairs(dialogues, context_turns=2)}
    assert holders["star:1#0"] == {"1", "2", "3"}  # "hi there" -> hello, in every dialogue
    assert holders["star:1#4"] == {"1", "3"}  # Ann Lee's name: dialogues 1 and 3
    assert holders["star:2#4"] == {"2"}  # Bo Chen's, only in dialogue 2
    assert holders["star:1#7"] == {"1"}  # its context holds the account number, different in every dialogue


def test_sources_name_their_dialogue() -> None:
    assert source_of("a#b", 4) == "star:a#b#4"
    assert dialogue_of(source_of("a#b", 4)) == "a#b"
    assert dialogue_of("star:17#0") == "17"


def test_labelled_queries_only_user_turns_before_a_labelled_agent_turn(tmp_path: Path) -> None:
    dialogue = {
        "dialogue_id": 3,
        "turns": [
            turn("user", "hello?"),
            turn("agent", "typing...", None),  # free text: no query
            turn("user", "I need a taxi"),
            turn("agent", "Where to?", "ask_destination"),
            turn("agent", "Also, when?", "ask_time"),  # follows an agent turn: no query
            turn("user", "to the airport"),
            turn("user", "at noon"),
            turn("agent", "Booked.", "ride_booked"),
            turn("user", "thanks"),  # last turn: no query
        ],
    }
    dialogues = load_star(write_star(tmp_path / "star.jsonl.gz", [dialogue]))

    queries = labelled_queries(dialogues, context_turns=1)

    assert [(q.text, q.label, q.source) for q in queries] == [
        ("typing... | I need a taxi", "ask_destination", "star:3#2"),
        ("to the airport | at noon", "ride_booked", "star:3#6"),
    ]
