"""The STAR dialogues as retrieval data: a seeded split by dialogue, labelled pairs and queries.

STAR (Mosig et al. 2020, MIT, https://github.com/RasaHQ/STAR) is read from its normalised form, a
gzipped JSON-lines file with one dialogue per line: ``dialogue_id`` and ``turns``, each turn a
``speaker`` ("user" or "agent"), a ``text`` and the agent's ``action_label`` (the response the
wizard picked from its flowchart; null for user turns and free-text agent replies). Nothing read
here is ever written back out: callers report counts and metrics only.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import TrainingError
from retrieval.pairs import Pair, deduplicate, join_context

USER = "user"
AGENT = "agent"


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    action_label: str | None


@dataclass(frozen=True)
class Dialogue:
    dialogue_id: str
    turns: tuple[Turn, ...]


@dataclass(frozen=True)
class LabelledPair:
    """A retrieval pair and the action label of its agent reply (None: a free-text reply)."""

    pair: Pair
    label: str | None


@dataclass(frozen=True)
class Query:
    """A held-out user turn (with context) and the action label of the agent turn that followed it."""

    text: str
    label: str
    source: str


@dataclass(frozen=True)
class Split:
    train: list[Dialogue]
    test: list[Dialogue]


def load_star(path: str | Path, *, limit: int | None = None) -> list[Dialogue]:
    """The dialogues of a STAR ``dialogues.jsonl.gz`` in file order (the first ``limit`` only, if given)."""
    file = Path(path)
    if not file.is_file():
        raise TrainingError(f"{file} does not exist; pass the STAR dialogues.jsonl.gz with --star")
    if limit is not None and limit < 1:
        raise TrainingError(f"--limit must be at least 1, not {limit}")
    dialogues: list[Dialogue] = []
    opener = gzip.open if file.suffix == ".gz" else open
    try:
        with opener(file, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if limit is not None and len(dialogues) >= limit:
                    break
                if line.strip():
                    dialogues.append(_dialogue(json.loads(line), file, number))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TrainingError(f"{file} is not a gzipped JSON-lines STAR file ({exc}); pass dialogues.jsonl.gz") from exc
    if not dialogues:
        raise TrainingError(f"{file} holds no dialogues")
    return dialogues


def _dialogue(row: Any, file: Path, line: int) -> Dialogue:
    try:
        turns = tuple(Turn(str(t["speaker"]), str(t["text"]), t.get("action_label")) for t in row["turns"])
        return Dialogue(str(row["dialogue_id"]), turns)
    except (KeyError, TypeError) as exc:
        raise TrainingError(
            f"{file}:{line}: a dialogue needs `dialogue_id` and `turns` of {{speaker, text, action_label}} ({exc!r})"
        ) from exc


def split_dialogues(dialogues: Sequence[Dialogue], *, seed: int, test_fraction: float = 0.2) -> Split:
    """A seeded split by dialogue id: the same ids and seed give the same split, whatever the input order."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, not {test_fraction}")
    ids = sorted({d.dialogue_id for d in dialogues})
    if len(ids) != len(dialogues):
        raise TrainingError(f"{len(dialogues) - len(ids)} dialogue ids repeat; every dialogue needs its own id")
    random.Random(seed).shuffle(ids)
    test_ids = set(ids[: round(len(ids) * test_fraction)])
    ordered = sorted(dialogues, key=lambda d: d.dialogue_id)
    return Split(
        train=[d for d in ordered if d.dialogue_id not in test_ids],
        test=[d for d in ordered if d.dialogue_id in test_ids],
    )


def _context(dialogue: Dialogue, index: int, context_turns: int) -> str:
    context = [t.text for t in dialogue.turns[max(0, index - context_turns) : index]]
    return join_context(context, dialogue.turns[index].text)


def exchanges(dialogue: Dialogue) -> list[int]:
    """Indexes of the user turns immediately followed by an agent turn."""
    turns = dialogue.turns
    return [i for i in range(len(turns) - 1) if turns[i].speaker == USER and turns[i + 1].speaker == AGENT]


def source_of(dialogue_id: str, index: int) -> str:
    """The source of the pair or query of a dialogue's user turn ``index``: ``star:<dialogue_id>#<index>``."""
    return f"star:{dialogue_id}#{index}"


def dialogue_of(source: str) -> str:
    """The dialogue id in a :func:`source_of` source."""
    return source.removeprefix("star:").rpartition("#")[0]


def _all_pairs(dialogues: Sequence[Dialogue], context_turns: int) -> dict[str, LabelledPair]:
    labelled: dict[str, LabelledPair] = {}
    for dialogue in dialogues:
        for index in exchanges(dialogue):
            user, agent = dialogue.turns[index], dialogue.turns[index + 1]
            source = source_of(dialogue.dialogue_id, index)
            pair = Pair(_context(dialogue, index, context_turns), user.text, agent.text, source)
            labelled[source] = LabelledPair(pair, agent.action_label)
    return labelled


def labelled_pairs(dialogues: Sequence[Dialogue], *, context_turns: int = 2) -> list[LabelledPair]:
    """Every (user turn with its context -> next agent turn) pair, deduplicated as :func:`deduplicate` does.

    The pairs are built as :func:`retrieval.pairs.dialogue_pairs` builds them (the context is the
    ``context_turns`` turns before the user turn, whoever spoke them), with the source
    ``star:<dialogue_id>#<turn index>`` and the agent turn's action label kept beside each pair.
    """
    labelled = _all_pairs(dialogues, context_turns)
    return [labelled[pair.source] for pair in deduplicate(p.pair for p in labelled.values())]


def _same_exchange(pair: Pair) -> tuple[str, str]:
    """What :func:`retrieval.pairs.deduplicate` compares: the query and the reply, case and spacing aside."""
    return " ".join(pair.query.lower().split()), " ".join(pair.reply.lower().split())


def pair_dialogues(dialogues: Sequence[Dialogue], *, context_turns: int = 2) -> dict[str, frozenset[str]]:
    """For each pair :func:`labelled_pairs` keeps, by source: the ids of every dialogue holding that exchange.

    A pair stays in the deduplicated corpus without dialogue D unless D is the only dialogue holding it:
    what a leave-one-dialogue-out search needs to know.
    """
    holders: dict[tuple[str, str], set[str]] = {}
    for labelled in _all_pairs(dialogues, context_turns).values():
        holders.setdefault(_same_exchange(labelled.pair), set()).add(dialogue_of(labelled.pair.source))
    return {
        p.pair.source: frozenset(holders[_same_exchange(p.pair)])
        for p in labelled_pairs(dialogues, context_turns=context_turns)
    }


def labelled_queries(dialogues: Sequence[Dialogue], *, context_turns: int = 2) -> list[Query]:
    """Every user turn followed by an agent turn with an action label, with the context pairs get."""
    return [
        Query(
            _context(dialogue, index, context_turns),
            str(dialogue.turns[index + 1].action_label),
            source_of(dialogue.dialogue_id, index),
        )
        for dialogue in dialogues
        for index in exchanges(dialogue)
        if dialogue.turns[index + 1].action_label is not None
    ]


@dataclass(frozen=True)
class Benchmark:
    """What both STAR benchmarks start from: the dialogues, their split, training pairs, test queries."""

    dialogues: list[Dialogue]
    split: Split
    pairs: list[LabelledPair]
    queries: list[Query]


def benchmark_sets(star: str | Path, *, seed: int, context_turns: int, limit: int | None) -> Benchmark:
    """Load STAR, split it by dialogue, build the labelled pairs (train) and queries (test)."""
    if context_turns < 0:
        raise TrainingError(f"context_turns (--context-turns) must be 0 or more, not {context_turns}")
    dialogues = load_star(star, limit=limit)
    split = split_dialogues(dialogues, seed=seed)
    pairs = labelled_pairs(split.train, context_turns=context_turns)
    queries = labelled_queries(split.test, context_turns=context_turns)
    if not pairs or not queries:
        raise TrainingError(
            f"{len(dialogues)} dialogues give {len(pairs)} pairs and {len(queries)} queries; "
            "both must be non-zero: raise --limit or drop it"
        )
    return Benchmark(dialogues, split, pairs, queries)
