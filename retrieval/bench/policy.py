"""Reply choice on STAR: the full reply policy against retrieval alone.

The split, pairs and queries are those of ``deskmate bench retrieval`` (:mod:`retrieval.bench.star`):
STAR split 80/20 by dialogue id with a fixed seed; each held-out user turn followed by an agent
turn with an action label is a query, and a reply is right when its action label is the label of
the agent turn that followed. Each agent action label is treated as an intent.

* **retrieval alone**: the retriever over the 80%'s pairs, turn by turn as in bench_star (MiniLM,
  slot weights :func:`retrieval.bench.star.turn_weights`), sends its top pair's reply every time
  (a free-text reply has no label and counts as wrong, as in bench_star).
* **policy**: the product's :class:`bot.core.policy.Policy` with its default settings and an answer
  threshold chosen here, fed ``Understanding(prediction, retrieved, example_similarity=None)`` and a
  fresh ``TurnContext`` per query. ``prediction`` comes from the frozen-embedding logistic-regression
  head (:class:`training.embedding_head.EmbeddingHead`) trained on the 80%'s user turns labelled
  with the next agent turn's action; ``retrieved`` is the same top pair retrieval alone sends.
  ANSWER sends the intent's template (the label's most frequent agent text in the 80%, ties:
  shortest), RETRIEVED the retrieved pair's reply; CLARIFY, HANDOFF and FALLBACK send nothing.

The head is fitted on the 80% less a stratified, seeded validation slice (10%); on that slice a
temperature is fitted (minimum NLL) and the answer threshold chosen: the lowest at which the
messages the policy would answer from the intent (top probability >= threshold and margin over
the second >= ``clarify_margin``) are at least 90% right. The head sees either the user turn alone
(as the product's classifier does) or the same turn-by-turn vector the retriever searches with (the
turn and the 2 turns before it); both are measured, and the one answering more of the validation
slice at the target drives the headline policy row. Nothing on the test dialogues chooses anything.

Metrics (:mod:`retrieval.bench.reply_scores`): match rate, coverage, precision and wrong-answer rate over
all queries, and the policy's decisions one by one.

On the full STAR run (seed 13, 9,196 queries; ``bench-results/policy-star.json``) the head on the
turn + context answered more of the validation slice at 90% (25.0% at threshold 0.858, against
11.6% at 0.842 for the turn alone) and was chosen. The policy sends a reply to 66.1% of the queries
and 59.2% of them are right (retrieval alone: every query, 46.2% right): it halves the wrong answers
(26.9% of queries against 53.8%) for 0.85x the right ones (39.1% against 46.2%). Its template
answers are 88.3% right on 23.4% of the queries; its retrieved replies only 43.3%, because the
default ``retrieval_threshold`` of 0.8 lets 60% of the top pairs through (51.5% right above it,
38.2% below): on turn-by-turn scores it barely filters. The head alone, top-1 on every query, is
right 60.7% of the time, 1.31x retrieval alone.

Nothing from the dataset is written out: only counts and metrics.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.core.policy import Action, Decision, Policy, PolicyConfig, TurnContext, Understanding
from bot.errors import TrainingError
from retrieval.bench.reply_scores import (
    KindScores,
    Outcome,
    ReplyScores,
    breakdown,
    format_breakdown,
    format_table,
    handled_view,
    percent,
    ratios,
    score_outcomes,
)
from retrieval.bench.star import turn_weights
from retrieval.bench.star_data import Dialogue, Query, benchmark_sets, labelled_queries
from retrieval.embedder import Embedder
from retrieval.retriever import RetrievedReply, Retriever
from retrieval.search import Vectors
from retrieval.turnwise import TurnwiseEmbedder
from training.bench.intents import machine_facts
from training.calibration import expected_calibration_error, fit_temperature, select_threshold, softmax
from training.data import IntentData, stratified_split
from training.embedding_head import EmbeddingHead
from training.prediction import IntentPrediction

logger = logging.getLogger(__name__)

ANSWER_PRECISION_TARGET = 0.90
VALIDATION_FRACTION = 0.1
TURN, CONTEXT = "turn", "context"  # what the intent head sees
HEAD_INPUTS = {TURN: "the user turn", CONTEXT: "the turn + context, turn by turn"}
RETRIEVAL_ALONE = "retrieval alone"
POLICY = "policy, head on {input}"
HANDLED = "policy, answered-or-handed-off"
HEAD_ALONE = "intent head alone, top-1"


def reply_templates(dialogues: Sequence[Dialogue]) -> dict[str, str]:
    """Each action label's template: its most frequent agent text in ``dialogues`` (ties: the shortest, then first)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for dialogue in dialogues:
        for turn in dialogue.turns:
            if turn.action_label is not None:
                counts[turn.action_label][turn.text] += 1
    return {label: min(texts, key=lambda t: (-texts[t], len(t))) for label, texts in counts.items()}


def answer_threshold(
    probabilities: npt.ArrayLike, gold: npt.ArrayLike, *, target: float, margin: float
) -> tuple[float, float, float | None]:
    """The lowest threshold at which the policy's intent answers are ``target`` right: (threshold, coverage, precision).

    A message is answered from the intent when its top probability >= threshold and beats the second
    by ``margin`` (the policy's ``clarify_margin``); coverage is over all messages.
    """
    probs = np.atleast_2d(np.asarray(probabilities, dtype=np.float64))
    gold_ids = np.asarray(gold, dtype=np.int64)
    ordered = np.sort(probs, axis=1)
    top = ordered[:, -1]
    second = ordered[:, -2] if probs.shape[1] > 1 else np.zeros(len(probs))
    correct = probs.argmax(axis=1) == gold_ids
    eligible = top - second >= margin - 1e-9
    threshold, _ = select_threshold(top[eligible], correct[eligible], target=target)
    answered = eligible & (top >= threshold)
    precision = float(correct[answered].mean()) if answered.any() else None
    return threshold, float(answered.mean()) if len(probs) else 0.0, precision


def decision_outcome(decision: Decision, *, templates: dict[str, str], labels: dict[str, str | None]) -> Outcome:
    """What a policy decision sends: the intent's template, the retrieved pair's reply, or nothing."""
    if decision.action is Action.ANSWER:
        return Outcome(decision.action, decision.intent, templates.get(decision.intent or ""), rule=decision.rule)
    if decision.action is Action.RETRIEVED:
        hit = decision.retrieved
        assert hit is not None, "a RETRIEVED decision carries its reply"
        return Outcome(decision.action, labels[hit.source], hit.reply, rule=decision.rule)
    return Outcome(decision.action, options=decision.options, rule=decision.rule)


class _Memo:
    """Embeds each distinct text once per run, in memory: the retriever, the queries and the head share turns."""

    def __init__(self, base: Embedder) -> None:
        self.base = base
        self._vectors: dict[str, Vectors] = {}

    @property
    def dim(self) -> int:
        return self.base.dim

    def encode(self, texts: Sequence[str]) -> Vectors:
        new = sorted({t for t in texts if t not in self._vectors})
        if new:
            self._vectors.update(zip(new, self.base.encode(new), strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts]).astype(np.float32)


@dataclass(frozen=True)
class CalibratedHead:
    head: EmbeddingHead
    threshold: float
    report: dict[str, Any]


def fit_calibrated_head(
    train_x: Vectors,
    train_y: Sequence[str],
    val_x: Vectors,
    val_y: Sequence[str],
    *,
    target: float,
    margin: float,
) -> CalibratedHead:
    """Fit the head on the training part; temperature and answer threshold on the validation slice."""
    started = time.perf_counter()
    labels = list(dict.fromkeys(train_y))
    fitted = EmbeddingHead.fit(train_x, train_y, label_order=labels)
    index = {label: i for i, label in enumerate(labels)}
    gold = np.array([index[y] for y in val_y], dtype=np.int64)
    logits = fitted.logits(val_x)
    temperature = fit_temperature(logits, gold)
    before, after = softmax(logits, 1.0), softmax(logits, temperature)
    threshold, coverage, precision = answer_threshold(after, gold, target=target, margin=margin)
    head = EmbeddingHead(fitted.weights, fitted.bias, labels, temperature=temperature, c=fitted.c)
    report = {
        "labels": len(labels),
        "train_examples": len(train_y),
        "validation_examples": len(val_y),
        "validation_accuracy": float((after.argmax(axis=1) == gold).mean()) if len(gold) else None,
        "ece_before": expected_calibration_error(before, gold) if len(gold) else None,
        "ece_after": expected_calibration_error(after, gold) if len(gold) else None,
        "temperature": temperature,
        "threshold": threshold,
        "validation_coverage": coverage,
        "validation_precision": precision,
        "fit_seconds": time.perf_counter() - started,
    }
    return CalibratedHead(head, threshold, report)


def run_policy(
    head: CalibratedHead,
    texts: Sequence[str],
    features: Vectors,
    retrieved: Sequence[Sequence[RetrievedReply]],
    *,
    templates: dict[str, str],
    labels: dict[str, str | None],
) -> tuple[list[Outcome], list[IntentPrediction]]:
    """The policy's outcome for each query (user turn alone in ``texts``) and the head's predictions."""
    policy = Policy(PolicyConfig(answer_threshold=head.threshold), model_threshold=head.threshold)
    predictions = head.head.predict(features)
    outcomes = [
        decision_outcome(
            policy.decide(text, Understanding(p, tuple(hits), example_similarity=None), TurnContext()),
            templates=templates,
            labels=labels,
        )
        for text, p, hits in zip(texts, predictions, retrieved, strict=True)
    ]
    return outcomes, predictions


def _mean(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _sources(queries: Sequence[Query]) -> dict[str, int]:
    return {q.source: i for i, q in enumerate(queries)}


def run_policy_benchmark(
    star: str | Path,
    *,
    embedder: Embedder | None = None,
    seed: int = 13,
    context_turns: int = 2,
    limit: int | None = None,
    target: float = ANSWER_PRECISION_TARGET,
    out: Path | None = None,
) -> dict[str, Any]:
    """Split STAR, train and calibrate the head, run both methods on the held-out queries; print and return the report.

    ``embedder`` defaults to MiniLM (loaded here); tests pass the hashing twin.
    """
    sets = benchmark_sets(star, seed=seed, context_turns=context_turns, limit=limit)
    dialogues, split, pairs, queries = sets.dialogues, sets.split, sets.pairs, sets.queries
    query_turns = labelled_queries(split.test, context_turns=0)  # same order, the user turn alone
    examples = labelled_queries(split.train, context_turns=context_turns)
    example_turns = labelled_queries(split.train, context_turns=0)
    everything = IntentData([e.source for e in examples], [e.label for e in examples])
    if len(set(everything.labels)) < 2:
        raise TrainingError(f"the training dialogues hold {len(set(everything.labels))} action label; raise --limit")
    fit_part, validation = stratified_split(everything, VALIDATION_FRACTION, seed=seed)
    position = _sources(examples)
    fit_ids = [position[s] for s in fit_part.texts]
    val_ids = [position[s] for s in validation.texts]
    templates = reply_templates(split.train)
    labels = {p.pair.source: p.label for p in pairs}
    gold = [q.label for q in queries]

    if embedder is None:
        from retrieval.embedder import MiniLMEmbedder

        embedder = MiniLMEmbedder()
    memo = _Memo(embedder)
    turnwise = TurnwiseEmbedder(memo, weights=turn_weights(context_turns))
    logger.info("embedding and indexing %d pairs, turn by turn", len(pairs))
    started = time.perf_counter()
    retriever = Retriever.build(turnwise, [p.pair for p in pairs])
    built = time.perf_counter()
    query_vectors = turnwise.encode([q.text for q in queries])
    retrieved = retriever.search_vectors(query_vectors, top_k=1)
    searched = time.perf_counter()
    baseline = [Outcome(Action.RETRIEVED, labels[hits[0].source], hits[0].reply) for hits in retrieved]

    features = {
        TURN: (memo.encode([e.text for e in example_turns]), memo.encode([q.text for q in query_turns])),
        CONTEXT: (turnwise.encode([e.text for e in examples]), query_vectors),
    }
    margin = PolicyConfig().clarify_margin
    heads: dict[str, CalibratedHead] = {}
    for name, (train_x, _) in features.items():
        logger.info("fitting the intent head on %s", HEAD_INPUTS[name])
        heads[name] = fit_calibrated_head(
            train_x[fit_ids],
            fit_part.labels,
            train_x[val_ids],
            validation.labels,
            target=target,
            margin=margin,
        )
    chosen = max(heads, key=lambda k: (heads[k].report["validation_coverage"], k == TURN))

    turn_texts = [q.text for q in query_turns]
    results: list[ReplyScores] = [score_outcomes(RETRIEVAL_ALONE, baseline, gold)]
    kinds: dict[str, list[KindScores]] = {}
    rules: dict[str, dict[str, int]] = {}
    head_top1: dict[str, float] = {}
    chosen_policy: ReplyScores | None = None
    chosen_head_alone: ReplyScores | None = None
    for name, head in heads.items():
        outcomes, predictions = run_policy(
            head, turn_texts, features[name][1], retrieved, templates=templates, labels=labels
        )
        row_name = POLICY.format(input=HEAD_INPUTS[name]) + (" (chosen)" if name == chosen else "")
        scores = score_outcomes(row_name, outcomes, gold)
        results.append(scores)
        kinds[row_name] = breakdown(outcomes, gold, baseline)
        rules[row_name] = dict(Counter(o.rule for o in outcomes).most_common())
        head_alone = [Outcome(Action.ANSWER, p.top.intent) for p in predictions]
        head_top1[name] = score_outcomes(HEAD_ALONE, head_alone, gold).match_rate
        if name == chosen:
            chosen_policy = scores
            chosen_head_alone = score_outcomes(f"{HEAD_ALONE} ({HEAD_INPUTS[name]})", head_alone, gold)
    assert chosen_policy is not None and chosen_head_alone is not None
    results.extend([handled_view(chosen_policy, name=HANDLED), chosen_head_alone])
    reference = results[0]

    labelled_turns = [(label, t.text) for d in split.train for t in d.turns if (label := t.action_label) is not None]
    dataset = {
        "path": str(star),
        "seed": seed,
        "context_turns": context_turns,
        "limit": limit,
        "dialogues": len(dialogues),
        "train_dialogues": len(split.train),
        "test_dialogues": len(split.test),
        "pairs": len(pairs),
        "queries": len(queries),
        "head_examples": len(examples),
        "head_validation_examples": len(validation),
        "labels": len(templates),
        "queries_with_label_unseen_in_train": sum(g not in templates for g in gold),
        "template_share_of_labelled_agent_turns": sum(templates[label] == text for label, text in labelled_turns)
        / max(1, len(labelled_turns)),
        "retrieval_top_pair_free_text": sum(o.label is None for o in baseline),
    }
    cut = PolicyConfig().retrieval_threshold
    above = [hits[0].score >= cut for hits in retrieved]
    right = [o.label == g for o, g in zip(baseline, gold, strict=True)]
    retrieval_threshold = {
        "threshold": cut,
        "share_at_or_above": sum(above) / len(above),
        "precision_at_or_above": _mean([r for r, a in zip(right, above, strict=True) if a]),
        "precision_below": _mean([r for r, a in zip(right, above, strict=True) if not a]),
    }
    report: dict[str, Any] = {
        "dataset": dataset,
        "answer_precision_target": target,
        "policy_config": asdict(PolicyConfig(answer_threshold=heads[chosen].threshold)),
        "embedder": type(embedder).__name__,
        "turn_weights": turnwise.weights,
        "heads": {name: {**h.report, "test_top1_accuracy": head_top1[name]} for name, h in heads.items()},
        "chosen_head_input": chosen,
        "results": [asdict(r) for r in results],
        "ratios_vs_retrieval_alone": {r.name: ratios(r, reference) for r in results},
        "breakdown": {name: [asdict(k) for k in rows] for name, rows in kinds.items()},
        "rules": rules,
        "retrieval_alone_by_policy_retrieval_threshold": retrieval_threshold,
        "seconds": {"retriever_build": built - started, "queries_embed_and_search": searched - built},
        "machine": machine_facts(),
    }
    print(
        f"STAR {star}: {len(dialogues)} dialogues, {len(split.train)} train / {len(split.test)} test (seed {seed}); "
        f"{len(pairs)} pairs, {len(queries)} queries, {len(templates)} action labels; context {context_turns} turns; "
        f"embedder {report['embedder']}"
    )
    for name, h in heads.items():
        r = h.report
        print(
            f"head on {HEAD_INPUTS[name]}: validation accuracy {percent(r['validation_accuracy'])}%, "
            f"T={r['temperature']:.3f}, ECE {r['ece_before'] or 0:.3f} -> {r['ece_after'] or 0:.3f}; "
            f"threshold {r['threshold']:.3f} answers {percent(r['validation_coverage'])}% of validation at "
            f"{percent(r['validation_precision'])}% right (target {100 * target:.0f}%); test top-1 {percent(head_top1[name])}%"
        )
    print(format_table(results, reference))
    print(
        f"retrieval alone: top pair scores >= the policy's retrieval threshold {cut} on "
        f"{percent(retrieval_threshold['share_at_or_above'])}% of queries, "
        f"{percent(retrieval_threshold['precision_at_or_above'])}% right there, "
        f"{percent(retrieval_threshold['precision_below'])}% below"
    )
    for name, rows in kinds.items():
        print(f"\n{name}:")
        print(format_breakdown(rows))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    return report
