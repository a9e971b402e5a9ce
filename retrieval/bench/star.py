"""Retrieval benchmark on STAR: does the retrieved reply take the action the human agent took?

The STAR dialogues are split 80/20 by dialogue id with a fixed seed (:mod:`retrieval.bench.star_data`). The
80% give the retrieval pairs (user turn with its ``context_turns`` previous turns -> the next
agent turn, deduplicated, each carrying the agent turn's action label; free-text replies keep a
null label and stay in the corpus, as the product would index them). Every held-out user turn
followed by a labelled agent turn is a query, built with the same context. A method ranks the
training pairs for each query, and a pair counts as right when its label equals the label of the
held-out agent turn:

* recall@1: the top pair is right; recall@5: one of the top 5 is; MRR: mean of 1/rank of the first
  right pair within the top 10 (0 when none is).

Methods, all over the same deduplicated pairs and the same query texts:

* ours, joined text: the product's retriever (MiniLM embeddings, FAISS) through
  ``Retriever.build(turn_weights=None)`` and ``Retriever.search_many``, embedding the joined text;
* ours, turn by turn: the same retriever as a KB build makes it (``Retriever.build`` with slot
  weights from :func:`turn_weights`): each turn embedded alone;
* BM25: Okapi BM25 (k1=1.5, b=0.75, :mod:`retrieval.bm25`) on the same texts;
* hybrid: reciprocal-rank fusion (k=60) of the top 50 of turn by turn and of BM25;
* majority label: every query gets the training actions ranked by frequency over all training
  exchanges, before deduplication (a floor, not a retriever).

Which to ship: the turn-by-turn retriever. On the full STAR run (seed 13, 2 turns of context,
41,361 pairs, 9,196 queries; ``bench-results/retrieval-star.json``) it is the only dense method
that beats BM25 on recall@1 (45.5% against 43.6%; recall@5 75.3% / 74.8%, MRR 0.581 / 0.566),
while MiniLM on the joined text, as the product embeds today, loses (40.1%, 0.92x): one
mean-pooled vector blurs the customer turn into its context, and the agent turn before it is what
tells the flowchart step apart. Turn by turn also builds about 5x faster, since each distinct turn
is embedded once. The hybrid adds nothing at the top (45.6% recall@1) but 2.6 points of recall@5
(77.9%) for a second index to build, save and keep in step with ``Retriever.add``: worth it only
where several replies are shown, as agent suggestions, not for the bot's single answer.

Nothing from the dataset is written out: only counts and metrics.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from retrieval.bench.star_data import (
    USER,
    Dialogue,
    LabelledPair,
    benchmark_sets,
    exchanges,
)
from retrieval.bm25 import BM25Index
from retrieval.embedder import Embedder
from retrieval.onnx_encoder import OnnxEmbedder
from retrieval.retriever import Retriever
from training.onnx_export import CALIBRATION_TEXTS, quantization_of

logger = logging.getLogger(__name__)

OURS = "ours: {embedder} on the joined text"  # the retriever, named by its embedder
OURS_TURNWISE = "ours: {embedder} turn by turn"
BM25 = "BM25 (k1=1.5, b=0.75)"
HYBRID = "hybrid: RRF of turn by turn + BM25"
MAJORITY = "majority label"
DEPTH = 10  # rankings are scored to this depth (MRR@10)
FUSION_CANDIDATES = 50  # hits per method fed to the fusion
RRF_K = 60
NEWEST_WEIGHT = 1.0  # turn-by-turn slot weights: the customer turn and the turn before it count fully,
OLDER_WEIGHT = 0.5  # older turns half (chosen on a dev split of the training dialogues, see turn_weights)
DEFAULT_RUNTIME = "onnx-int8"  # as a KB build serves the sentence encoder (kb/build.py)


@dataclass(frozen=True)
class RankingScores:
    recall_at_1: float
    recall_at_5: float
    mrr_at_10: float


@dataclass(frozen=True)
class MethodResult:
    name: str
    recall_at_1: float
    recall_at_5: float
    mrr_at_10: float
    build_seconds: float  # indexing the pairs (embedding them, for ours)
    search_seconds: float  # all queries, batched
    index: str  # what was searched, e.g. "faiss flat"


def first_right_rank(ranked: Sequence[str | None], gold: str, *, depth: int = DEPTH) -> int | None:
    """The 1-based rank of the first label equal to ``gold`` within the top ``depth``, or None."""
    for rank, label in enumerate(ranked[:depth], start=1):
        if label == gold:
            return rank
    return None


def score_rankings(rankings: Sequence[Sequence[str | None]], gold: Sequence[str]) -> RankingScores:
    """recall@1, recall@5 and MRR@10 of ranked label lists against the gold labels."""
    if len(rankings) != len(gold):
        raise ValueError(f"{len(rankings)} rankings but {len(gold)} gold labels; they must pair up")
    if not gold:
        return RankingScores(0.0, 0.0, 0.0)
    ranks = [first_right_rank(ranked, label) for ranked, label in zip(rankings, gold, strict=True)]
    return RankingScores(
        recall_at_1=sum(r is not None and r <= 1 for r in ranks) / len(ranks),
        recall_at_5=sum(r is not None and r <= 5 for r in ranks) / len(ranks),
        mrr_at_10=sum(1.0 / r for r in ranks if r is not None) / len(ranks),
    )


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], *, k: int = RRF_K, top_k: int = DEPTH) -> list[int]:
    """Fuse ranked id lists: each id scores sum(1 / (k + rank)); ties keep the first-seen order."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(fused, key=lambda item: -fused[item])[:top_k]


def turn_weights(context_turns: int) -> list[float]:
    """Slot weights of the turn-by-turn embedder, newest turn first: 1, 1, then 0.5 for older turns.

    Chosen without the test queries: on the first 2,000 training dialogues of the seed-13 split,
    split again 80/20 with seed 99, (1, 1, 0.5) beat equal weights and weights that favour the
    previous agent turn for 2 turns of context, as (1, 1, 0.5, 0.5) did for 3.
    """
    return [NEWEST_WEIGHT, NEWEST_WEIGHT, *[OLDER_WEIGHT] * max(0, context_turns - 1)][: context_turns + 1]


def calibration_texts(dialogues: Sequence[Dialogue], *, limit: int = CALIBRATION_TEXTS) -> list[str]:
    """Up to ``limit`` distinct user turns spread evenly over ``dialogues`` (the training split): the
    texts whose activations set an int8 export's fixed scales, as a KB build uses its own texts."""
    turns = list(dict.fromkeys(t.text for d in dialogues for t in d.turns if t.speaker == USER and t.text.strip()))
    if len(turns) <= limit:
        return turns
    return [turns[i * len(turns) // limit] for i in range(limit)]


@dataclass(frozen=True)
class Encoder:
    """The sentence encoder a bench runs on, and how it was made."""

    embedder: Embedder
    runtime: str | None  # None: an embedder the caller passed in
    name: str  # for the method names and the report
    facts: dict[str, Any]  # runtime, quantisation, calibration texts, export seconds


def bench_encoder(runtime: str, calibration: Sequence[str], *, embedder: Embedder | None = None) -> Encoder:
    """all-MiniLM-L6-v2 as ``runtime`` serves it: exported to ONNX (int8 with scales measured on
    ``calibration``, or float32) in a temporary folder, or PyTorch (sentence-transformers) for
    "torch". A given ``embedder`` is used as it is (tests pass the hashing twin)."""
    if embedder is not None:
        name = type(embedder).__name__
        return Encoder(embedder, None, name, {"runtime": None, "embedder": name})
    quantization_of(runtime)  # an unknown runtime is refused before anything loads
    from retrieval.embedder import MiniLMEmbedder
    from training.bench.intents import served_embedder

    started = time.perf_counter()
    served = served_embedder(MiniLMEmbedder(), calibration, runtime)
    facts: dict[str, Any] = {"runtime": runtime, "embedder": type(served).__name__}
    if isinstance(served, OnnxEmbedder):
        meta = served.encoder.meta
        facts |= {
            "quantization": meta.quantization,
            "calibration_texts": meta.calibration_texts,
            "export_seconds": time.perf_counter() - started,
        }
    return Encoder(served, runtime, f"MiniLM {runtime}", facts)


@dataclass(frozen=True)
class Ranked:
    """Pair indexes ranked for each query, best first, and what it cost."""

    ids: list[list[int]]
    build_seconds: float
    search_seconds: float
    index: str  # the kind of index searched


def dense_rankings(
    embedder: Embedder,
    pairs: Sequence[LabelledPair],
    queries: Sequence[str],
    *,
    top_k: int,
    turn_weights: Sequence[float] | None,
) -> Ranked:
    """Pairs ranked by the product's retriever (the index kind is its choice): turn by turn with
    ``turn_weights``, as a build makes it, or over the joined text with None."""
    position = {p.pair.source: i for i, p in enumerate(pairs)}
    started = time.perf_counter()
    retriever = Retriever.build(embedder, [p.pair for p in pairs], turn_weights=turn_weights)
    built = time.perf_counter()
    results = retriever.search_many(list(queries), top_k=top_k)
    searched = time.perf_counter()
    ids = [[position[r.source] for r in row] for row in results]
    kind = str(getattr(retriever.index, "kind", type(retriever.index).__name__))
    return Ranked(ids, built - started, searched - built, f"faiss {kind}")


def bm25_rankings(pairs: Sequence[LabelledPair], queries: Sequence[str], *, top_k: int) -> Ranked:
    """Pairs ranked by BM25 over the same texts the retriever embeds."""
    started = time.perf_counter()
    index = BM25Index.build([p.pair.query for p in pairs])
    built = time.perf_counter()
    hits = index.search(list(queries), top_k)
    searched = time.perf_counter()
    return Ranked([[h.corpus_id for h in row] for row in hits], built - started, searched - built, "bm25 sparse")


def _result(name: str, labels: Sequence[Sequence[str | None]], gold: Sequence[str], ranked: Ranked) -> MethodResult:
    scores = score_rankings(labels, gold)
    return MethodResult(
        name,
        scores.recall_at_1,
        scores.recall_at_5,
        scores.mrr_at_10,
        ranked.build_seconds,
        ranked.search_seconds,
        ranked.index,
    )


def ratios(result: MethodResult, baseline: MethodResult) -> dict[str, float | None]:
    """result / baseline for each quality metric (None where the baseline is 0)."""

    def divide(a: float, b: float) -> float | None:
        return a / b if b else None

    return {
        "recall_at_1": divide(result.recall_at_1, baseline.recall_at_1),
        "recall_at_5": divide(result.recall_at_5, baseline.recall_at_5),
        "mrr_at_10": divide(result.mrr_at_10, baseline.mrr_at_10),
    }


def format_table(results: Sequence[MethodResult], baseline: MethodResult) -> str:
    """An aligned text table: one row per method, with its ratios to ``baseline``."""
    headers = ["method", "R@1 %", "R@5 %", "MRR@10", "R@1 /BM25", "R@5 /BM25", "MRR /BM25", "build s", "search s"]

    def times(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}x"

    rows = []
    for r in results:
        ratio = ratios(r, baseline)
        rows.append(
            [
                r.name,
                f"{100 * r.recall_at_1:.2f}",
                f"{100 * r.recall_at_5:.2f}",
                f"{r.mrr_at_10:.4f}",
                times(ratio["recall_at_1"]),
                times(ratio["recall_at_5"]),
                times(ratio["mrr_at_10"]),
                f"{r.build_seconds:.1f}",
                f"{r.search_seconds:.1f}",
            ]
        )
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([cells[0].ljust(widths[0]), *rest])

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(row) for row in rows)])


def describe(encoder: Encoder) -> str:
    """One line on the encoder: its runtime, quantisation and calibration."""
    facts = encoder.facts
    if encoder.runtime is None:
        return f"{encoder.name} (given)"
    if "quantization" not in facts:
        return f"runtime {encoder.runtime} (sentence-transformers, PyTorch)"
    calibrated = f", scales from {facts['calibration_texts']} training user turns" if facts["calibration_texts"] else ""
    return (
        f"runtime {encoder.runtime} (ONNX Runtime, {facts['quantization']}{calibrated}; "
        f"exported in {facts['export_seconds']:.1f} s)"
    )


def run_retrieval_benchmark(
    star: str | Path,
    *,
    embedder: Embedder | None = None,
    runtime: str = DEFAULT_RUNTIME,
    seed: int = 13,
    context_turns: int = 2,
    limit: int | None = None,
    out: Path | None = None,
) -> dict[str, Any]:
    """Split STAR, build the pairs, rank them with every method, print the table and return the report.

    The sentence encoder is MiniLM as ``runtime`` serves it (:func:`bench_encoder`, int8 scales
    from the training split's user turns); a given ``embedder`` replaces it (tests pass the hashing twin).
    """
    if embedder is None:
        quantization_of(runtime)
    sets = benchmark_sets(star, seed=seed, context_turns=context_turns, limit=limit)
    dialogues, split, pairs, queries = sets.dialogues, sets.split, sets.pairs, sets.queries
    exchanges_seen = sum(len(exchanges(d)) for d in split.train)
    labels = [p.label for p in pairs]
    texts = [q.text for q in queries]
    gold = [q.label for q in queries]

    def as_labels(rankings: Sequence[Sequence[int]]) -> list[list[str | None]]:
        return [[labels[i] for i in row[:DEPTH]] for row in rankings]

    logger.info("loading the sentence encoder (runtime %s)", runtime if embedder is None else "given")
    encoder = bench_encoder(runtime, calibration_texts(split.train), embedder=embedder)
    name = encoder.name
    weights = turn_weights(context_turns)
    logger.info("ranking %d pairs for %d queries with the retriever of joined texts", len(pairs), len(queries))
    dense = dense_rankings(encoder.embedder, pairs, texts, top_k=FUSION_CANDIDATES, turn_weights=None)
    logger.info("ranking them with the retriever, turn by turn (as a KB build makes it)")
    by_turn = dense_rankings(encoder.embedder, pairs, texts, top_k=FUSION_CANDIDATES, turn_weights=weights)
    logger.info("ranking them with BM25")
    lexical = bm25_rankings(pairs, texts, top_k=FUSION_CANDIDATES)
    started = time.perf_counter()
    fused = [reciprocal_rank_fusion([d, b]) for d, b in zip(by_turn.ids, lexical.ids, strict=True)]
    hybrid = Ranked(
        fused,
        by_turn.build_seconds + lexical.build_seconds,
        by_turn.search_seconds + lexical.search_seconds + time.perf_counter() - started,
        f"rrf of {by_turn.index} + {lexical.index}",
    )
    train_actions = Counter(
        d.turns[i + 1].action_label for d in split.train for i in exchanges(d) if d.turns[i + 1].action_label
    )
    frequent = [label for label, _ in train_actions.most_common(DEPTH)]  # before deduplication: the stronger floor

    bm25 = _result(BM25, as_labels(lexical.ids), gold, lexical)
    results = [
        _result(OURS.format(embedder=name), as_labels(dense.ids), gold, dense),
        _result(OURS_TURNWISE.format(embedder=name), as_labels(by_turn.ids), gold, by_turn),
        bm25,
        _result(HYBRID, as_labels(hybrid.ids), gold, hybrid),
        _result(MAJORITY, [frequent] * len(gold), gold, Ranked([], 0.0, 0.0, "none")),
    ]
    train_labels = {x for x in labels if x is not None}
    dataset = {
        "path": str(star),
        "seed": seed,
        "context_turns": context_turns,
        "limit": limit,
        "dialogues": len(dialogues),
        "train_dialogues": len(split.train),
        "test_dialogues": len(split.test),
        "exchanges": exchanges_seen,
        "pairs": len(pairs),
        "duplicate_pairs_dropped": exchanges_seen - len(pairs),
        "pairs_with_free_text_reply": sum(x is None for x in labels),
        "queries": len(queries),
        "train_labels": len(train_labels),
        "queries_with_label_unseen_in_train": sum(label not in train_labels for label in gold),
    }
    report: dict[str, Any] = {
        "dataset": dataset,
        "metrics": {"depth": DEPTH, "fusion_candidates": FUSION_CANDIDATES, "rrf_k": RRF_K},
        "embedder": name,
        "runtime": encoder.runtime,
        "encoder": encoder.facts,
        "turn_weights": weights,
        "results": [asdict(r) for r in results],
        "ratios_vs_bm25": {r.name: ratios(r, bm25) for r in results},
        "best_recall_at_1": max((r for r in results if r.name != MAJORITY), key=lambda r: r.recall_at_1).name,
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        },
    }
    print(
        f"STAR {star}: {len(dialogues)} dialogues, {len(split.train)} train / {len(split.test)} test (seed {seed}); "
        f"{len(pairs)} pairs ({dataset['duplicate_pairs_dropped']} duplicates dropped, "
        f"{dataset['pairs_with_free_text_reply']} with a free-text reply); {len(queries)} queries "
        f"({dataset['queries_with_label_unseen_in_train']} with a label unseen in train); "
        f"context {context_turns} turns; embedder {report['embedder']}"
    )
    print(f"sentence encoder: {describe(encoder)}")
    print(format_table(results, bm25))
    print(f"best recall@1: {report['best_recall_at_1']}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    return report
