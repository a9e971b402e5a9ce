"""Faithfulness benchmark: does the check catch generated replies the passages do not support?

The data is ``faithfulness.jsonl`` beside this module: one JSON object a line, ``{"question",
"passages", "reply", "supported", "note", "split"}`` on the demo shop, the passages copied from the
demo KB (FAQ answers, reply templates, past agent replies). ``supported`` is true when every
factual claim of the reply is stated or directly implied by the passages; a reply that honestly
says it does not know, or makes no factual claim, is supported. ``split`` says where an item
comes from: ``dev``, written by us, the items the check's rules were written against; ``test``,
written by us afterwards, before the check ever saw them (two fixes followed that first look: see
the check's module docstring); ``smollm2``, real replies of SmolLM2-135M (the local generator,
Deskmate's own prompt, greedy decoding) to questions of the set, labelled by hand before the check
was run on them.

The positive class is *unsupported* (what the check must catch): precision is the share of
blocked replies that deserved it, recall the share of unsupported replies blocked. Next to the
check, in the same run, on the same embedder:

* ``accept everything``: what sending every generated reply does (recall 0);
* ``whole-reply cosine``: the cosine of the reply's embedding to its closest passage, below a
  threshold means unsupported; the threshold is the best one for F1 on this very data, so the
  baseline is given every advantage.

Milliseconds are wall-clock time per ``check`` call (median and 95th percentile, after one
warm-up), embedding included.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import ConfigError
from bot.generation.faithfulness import (
    DEFAULT_MAX_UNSUPPORTED_WORDS,
    DEFAULT_MIN_SIMILARITY,
    Faithfulness,
    FaithfulnessCheck,
)
from retrieval.embedder import Embedder
from retrieval.search import normalize

DEFAULT_DATA = Path(__file__).with_name("faithfulness.jsonl")
CHECK = "faithfulness check"
ACCEPT_ALL = "accept everything"
COSINE = "whole-reply cosine"


@dataclass(frozen=True)
class LabelledReply:
    """One item of the set: a generated reply, its passages, and whether they support it."""

    question: str
    passages: tuple[str, ...]
    reply: str
    supported: bool
    note: str = ""
    split: str = "dev"


@dataclass(frozen=True)
class Scores:
    """Catching unsupported replies (the positive class), counted and summarised."""

    name: str
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int
    precision: float
    recall: float
    f1: float
    accuracy: float


def load_set(path: Path) -> list[LabelledReply]:
    """The labelled replies of a JSONL file; a malformed line names the file, the line and the fix."""
    items: list[LabelledReply] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read the faithfulness set {path}: {exc}; pass --data FILE") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            passages = row["passages"]
            if not isinstance(row["supported"], bool) or not isinstance(passages, list):
                raise TypeError("'supported' must be true or false and 'passages' a list of strings")
            items.append(
                LabelledReply(
                    question=str(row.get("question", "")),
                    passages=tuple(str(p) for p in passages),
                    reply=str(row["reply"]),
                    supported=row["supported"],
                    note=str(row.get("note", "")),
                    split=str(row.get("split", "dev")),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            problem = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ConfigError(
                f"{path}:{number}: {problem}; each line must be a JSON object with "
                '"question", "passages" (a list), "reply" and "supported" (true or false)'
            ) from exc
    if not items:
        raise ConfigError(f"{path} holds no labelled replies; write one JSON object a line")
    return items


def score(name: str, unsupported: Sequence[bool], flagged: Sequence[bool]) -> Scores:
    """Precision, recall, F1 and accuracy of ``flagged`` against the truth ``unsupported``."""
    pairs = list(zip(unsupported, flagged, strict=True))
    tp = sum(u and f for u, f in pairs)
    fp = sum(f and not u for u, f in pairs)
    fn = sum(u and not f for u, f in pairs)
    tn = len(pairs) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = (tp + tn) / len(pairs) if pairs else 0.0
    return Scores(name, tp, fp, fn, tn, precision, recall, f1, accuracy)


def best_threshold(unsupported: Sequence[bool], similarity: Sequence[float]) -> tuple[float, Scores]:
    """The similarity threshold (flag when below it) with the best F1 on this data, and its scores."""
    best: tuple[float, Scores] | None = None
    for threshold in [*sorted(set(similarity)), float("inf")]:
        scores = score(COSINE, unsupported, [s < threshold for s in similarity])
        if best is None or scores.f1 > best[1].f1:
            best = (threshold, scores)
    assert best is not None
    return best


def reply_similarity(embedder: Embedder, items: Sequence[LabelledReply]) -> list[float]:
    """Each whole reply's best cosine to one of its passages."""
    passages = list(dict.fromkeys(p for item in items for p in item.passages))
    replies = normalize(embedder.encode([item.reply for item in items]))
    where = {p: i for i, p in enumerate(passages)}
    vectors = normalize(embedder.encode(passages))
    return [
        float(np.max(vectors[[where[p] for p in item.passages]] @ replies[row])) if item.passages else 0.0
        for row, item in enumerate(items)
    ]


def run_faithfulness_benchmark(
    data: Path | None = None,
    *,
    embedder: Embedder | None = None,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
    max_unsupported_words: int = DEFAULT_MAX_UNSUPPORTED_WORDS,
    out: Path | None = None,
) -> dict[str, Any]:
    """Run the check and the baselines over the set, print the table and return the report.

    ``embedder`` defaults to MiniLM (loaded here); tests may pass the hashing twin.
    """
    path = data or DEFAULT_DATA
    items = load_set(path)
    if embedder is None:
        from retrieval.embedder import MiniLMEmbedder

        embedder = MiniLMEmbedder()
    check = FaithfulnessCheck(embedder, min_similarity=min_similarity, max_unsupported_words=max_unsupported_words)
    check.check(items[0].reply, items[0].passages, question=items[0].question)  # warm-up
    verdicts: list[Faithfulness] = []
    seconds: list[float] = []
    for item in items:
        started = time.perf_counter()
        verdicts.append(check.check(item.reply, item.passages, question=item.question))
        seconds.append(time.perf_counter() - started)
    truth = [not item.supported for item in items]
    flagged = [not v.supported for v in verdicts]
    threshold, cosine = best_threshold(truth, reply_similarity(embedder, items))
    results = [score(CHECK, truth, flagged), score(ACCEPT_ALL, truth, [False] * len(items)), cosine]
    splits = {name: asdict(_split_score(name, items, truth, flagged)) for name in sorted({i.split for i in items})}
    milliseconds = sorted(1000 * s for s in seconds)
    report: dict[str, Any] = {
        "dataset": {
            "path": str(path),
            "items": len(items),
            "unsupported": sum(truth),
            "supported": len(items) - sum(truth),
            "splits": {name: sum(i.split == name for i in items) for name in splits},
        },
        "settings": {
            "embedder": type(embedder).__name__,
            "min_similarity": min_similarity,
            "max_unsupported_words": max_unsupported_words,
            "cosine_threshold": threshold if math.isfinite(threshold) else None,
        },
        "results": [asdict(r) for r in results],
        "check_by_split": splits,
        "latency_ms": {
            "median": statistics.median(milliseconds),
            "p95": milliseconds[min(len(milliseconds) - 1, int(0.95 * len(milliseconds)))],
        },
        "mistakes": [
            {"reply": i.reply, "supported": i.supported, "note": i.note, "split": i.split, "reason": v.reason}
            for i, v, t, f in zip(items, verdicts, truth, flagged, strict=True)
            if t != f
        ],
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        },
    }
    print(
        f"faithfulness set {path}: {len(items)} replies, {sum(truth)} unsupported / {len(items) - sum(truth)} "
        f"supported; embedder {report['settings']['embedder']}; positive class = unsupported"
    )
    print(format_table(results, threshold))
    for name, s in splits.items():
        print(
            f"  check on the {name} split: precision {s['precision']:.3f}, recall {s['recall']:.3f}, F1 {s['f1']:.3f}"
        )
    print(f"check latency: median {report['latency_ms']['median']:.1f} ms, p95 {report['latency_ms']['p95']:.1f} ms")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    return report


def _split_score(name: str, items: Sequence[LabelledReply], truth: Sequence[bool], flagged: Sequence[bool]) -> Scores:
    rows = [(t, f) for t, f, item in zip(truth, flagged, items, strict=True) if item.split == name]
    return score(CHECK, [t for t, _ in rows], [f for _, f in rows])


def format_table(results: Sequence[Scores], threshold: float) -> str:
    header = f"{'method':<36} {'precision':>9} {'recall':>7} {'F1':>6} {'accuracy':>8}   tp  fp  fn  tn"
    rows = [header, "-" * len(header)]
    for r in results:
        name = f"{r.name} (< {threshold:.3f})" if r.name == COSINE else r.name
        rows.append(
            f"{name:<36} {r.precision:>9.3f} {r.recall:>7.3f} {r.f1:>6.3f} {r.accuracy:>8.3f}  "
            f"{r.true_positives:>3} {r.false_positives:>3} {r.false_negatives:>3} {r.true_negatives:>3}"
        )
    return "\n".join(rows)
