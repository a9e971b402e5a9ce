"""Reply choice on STAR: the full reply policy against retrieval alone.

The split, pairs and queries are those of ``deskmate bench retrieval`` (:mod:`retrieval.bench.star`):
STAR split 80/20 by dialogue id with a fixed seed; each held-out user turn followed by an agent
turn with an action label is a query, and a reply is right when its action label is the label of
the agent turn that followed. Each agent action label is treated as an intent. The sentence
encoder is all-MiniLM-L6-v2 as ``--runtime`` serves it (default ``onnx-int8``, as a KB build:
exported, int8 scales from the training split's user turns; ``torch``: sentence-transformers).

* **retrieval alone**: the product's retriever over the 80%'s pairs, built as a KB build builds
  it (turn by turn, slot weights :func:`retrieval.bench.star.turn_weights`), sends its top pair's
  reply every time (a free-text reply has no label and counts as wrong, as in bench_star).
* **policy**: the product's :class:`bot.core.policy.Policy` with its default settings, an answer
  threshold and a retrieval threshold chosen here, fed ``Understanding(prediction, retrieved,
  example_similarity=None)`` and a fresh ``TurnContext`` per query. ``prediction`` comes from the
  frozen-embedding logistic-regression head (:class:`training.embedding_head.EmbeddingHead`)
  trained on the 80%'s user turns labelled with the next agent turn's action; ``retrieved`` is the
  same top pair retrieval alone sends. ANSWER sends the intent's template (the label's most
  frequent agent text in the 80%, ties: shortest), RETRIEVED the retrieved pair's reply; CLARIFY,
  HANDOFF and FALLBACK send nothing.

Everything is chosen on the 80%, never on the test dialogues. The head is fitted on the 80% less
a stratified, seeded validation slice (10%); on that slice a temperature is fitted (minimum NLL)
and the answer threshold chosen: the lowest at which the messages the policy would answer from
the intent (top probability >= threshold and margin over the second >= ``clarify_margin``) are at
least 90% right. The head sees either the user turn alone (as the product's classifier does) or
the same turn-by-turn vector the retriever searches with (the turn and the 2 turns before it);
both are measured, and the one answering more of the validation slice at the target drives the
headline policy row. Then the **retrieval threshold**: the policy with that head runs on the
validation slice at every threshold from 0.00 to 1.00 in steps of 0.01, and the lowest at which
its retrieved replies are at least ``RETRIEVAL_PRECISION_TARGET`` right (over at least 30 of them)
is taken; when none is, the threshold is 1.01 and the policy sends no retrieved reply. The target
is the template answers' 90%: a reply the bot sends on its own should be as right whichever rule
sent it. A validation turn's dialogue is among the training pairs, a test dialogue never is: so
each validation turn is searched without the pairs only its own dialogue holds. The test rows
show both heads at the calibrated threshold, and the chosen head at 0.8 (the default before this
calibration) and at ``PolicyConfig``'s default where they differ.

Metrics (:mod:`retrieval.bench.reply_scores`): match rate, coverage, precision and wrong-answer rate over
all queries, the share of the wrong replies that were retrieved ones, and the policy's decisions
one by one.

On the full STAR run (seed 13, 9,196 queries, ``--runtime onnx-int8``; 8 min on a shared
2-core machine) the head on the turn + context answered more of the validation slice at 90%
(26.5% at threshold 0.843, against 14.8% at 0.784 for the turn alone) and was chosen. **No
retrieval threshold comes near the target**: on the validation slice the policy's retrieved
replies are 39.6% right at 0.50, 44.7% at 0.80, 45.7% at 0.90, 47.6% at 0.95 and 51.7% at best
(0.99, 87 replies, 2.3% of the messages); 44.1% at 1.00. The retrieval score hardly tells a
right past reply from a wrong one for the messages the head leaves to it, likely because the
right action depends on the flowchart step and on what the wizard's database returned, which a
similar past turn does not show. A lower target would have to be about 50%: a reply sent on the
bot's own that is wrong half the time, where the template answers are 88.6% right. So the
calibrated threshold is 1.01: the policy replies to 25.0% of the test queries, 88.6% right (match
22.1%, wrong answers 2.9% of queries, none retrieved); at the old 0.8 it replies to 64.9%, 60.6%
right (match 39.4%, wrong answers 25.6% of queries, 88.8% of them retrieved replies, which are
43.2% right). Retrieval alone: every query, 47.0% right (its top pair scores >= 0.8 on 57.8% of
queries, 52.9% right there, 38.8% below). The head alone, top-1 on every query, is right 60.0%
of the time, 1.28x retrieval alone.

Nothing from the dataset is written out: only counts and metrics.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
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
from retrieval.bench.star import DEFAULT_RUNTIME, bench_encoder, calibration_texts, describe, turn_weights
from retrieval.bench.star_data import (
    Dialogue,
    Query,
    benchmark_sets,
    dialogue_of,
    labelled_queries,
    pair_dialogues,
)
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
RETRIEVAL_PRECISION_TARGET = ANSWER_PRECISION_TARGET  # retrieved replies must be as right as template answers
MIN_VALIDATION_REPLIES = 30  # a threshold's precision counts from this many retrieved replies on
THRESHOLD_GRID = tuple(round(0.01 * i, 2) for i in range(101))  # retrieval thresholds swept on validation
UNCALIBRATED_THRESHOLD = 0.8  # PolicyConfig.retrieval_threshold before it was calibrated here
NO_RETRIEVAL = 1.01  # above any cosine: the policy sends no retrieved reply
VALIDATION_CANDIDATES = 32  # hits searched per validation turn before those of its own dialogue are dropped
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


def policy_outcomes(
    head: CalibratedHead,
    texts: Sequence[str],
    predictions: Sequence[IntentPrediction],
    retrieved: Sequence[Sequence[RetrievedReply]],
    *,
    retrieval_threshold: float,
    templates: dict[str, str],
    labels: dict[str, str | None],
) -> list[Outcome]:
    """The product policy's outcome for each query (the user turn alone in ``texts``), with the head's
    answer threshold and ``retrieval_threshold``."""
    config = PolicyConfig(answer_threshold=head.threshold, retrieval_threshold=retrieval_threshold)
    policy = Policy(config, model_threshold=head.threshold)
    return [
        decision_outcome(
            policy.decide(text, Understanding(p, tuple(hits), example_similarity=None), TurnContext()),
            templates=templates,
            labels=labels,
        )
        for text, p, hits in zip(texts, predictions, retrieved, strict=True)
    ]


def run_policy(
    head: CalibratedHead,
    texts: Sequence[str],
    features: Vectors,
    retrieved: Sequence[Sequence[RetrievedReply]],
    *,
    templates: dict[str, str],
    labels: dict[str, str | None],
    retrieval_threshold: float | None = None,
) -> tuple[list[Outcome], list[IntentPrediction]]:
    """The policy's outcome for each query and the head's predictions (``retrieval_threshold``: the
    policy's default when None)."""
    cut = PolicyConfig().retrieval_threshold if retrieval_threshold is None else retrieval_threshold
    predictions = head.head.predict(features)
    outcomes = policy_outcomes(
        head, texts, predictions, retrieved, retrieval_threshold=cut, templates=templates, labels=labels
    )
    return outcomes, predictions


@dataclass(frozen=True)
class ThresholdPoint:
    """The policy on the validation slice at one retrieval threshold."""

    threshold: float
    retrieved: int  # messages answered with a retrieved reply
    retrieved_coverage: float  # retrieved / messages
    retrieved_precision: float | None  # right retrieved replies / retrieved (None: none)
    coverage: float  # all replies (templates and retrieved) / messages
    wrong_rate: float  # all wrong replies / messages


def threshold_curve(
    outcomes_at: Callable[[float], Sequence[Outcome]],
    gold: Sequence[str],
    thresholds: Sequence[float] = THRESHOLD_GRID,
) -> list[ThresholdPoint]:
    """The policy's outcomes at each retrieval threshold (``outcomes_at(threshold)``), scored against ``gold``."""
    points = []
    for threshold in thresholds:
        outcomes = outcomes_at(threshold)
        scores = score_outcomes("", outcomes, gold)
        retrieved = [o.label == g for o, g in zip(outcomes, gold, strict=True) if o.action is Action.RETRIEVED]
        points.append(
            ThresholdPoint(
                threshold,
                len(retrieved),
                len(retrieved) / len(gold) if gold else 0.0,
                _mean(retrieved),
                scores.coverage,
                scores.wrong_rate,
            )
        )
    return points


def calibrated_threshold(
    points: Sequence[ThresholdPoint], *, target: float, min_replies: int = MIN_VALIDATION_REPLIES
) -> ThresholdPoint | None:
    """The lowest threshold at which the policy's retrieved replies are at least ``target`` right, over
    at least ``min_replies`` of them; None when no threshold is."""
    for point in sorted(points, key=lambda p: p.threshold):
        precision = point.retrieved_precision
        if point.retrieved >= min_replies and precision is not None and precision >= target:
            return point
    return None


def leave_dialogue_out(
    rows: Sequence[Sequence[RetrievedReply]],
    sources: Sequence[str],
    holders: dict[str, frozenset[str]],
    *,
    keep: int = 1,
) -> list[list[RetrievedReply]]:
    """Each query's first ``keep`` hits once the pairs only its own dialogue holds are dropped.

    A validation turn's dialogue is among the training pairs; a test dialogue never is. ``holders``
    (:func:`retrieval.bench.star_data.pair_dialogues`) says which dialogues hold each kept pair: a
    pair that other dialogues hold too stays, as it would in a corpus without this dialogue.
    """
    kept = []
    for hits, source in zip(rows, sources, strict=True):
        own = frozenset({dialogue_of(source)})
        kept.append([h for h in hits if holders.get(h.source, frozenset()) != own][:keep])
    return kept


def _mean(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _sources(queries: Sequence[Query]) -> dict[str, int]:
    return {q.source: i for i, q in enumerate(queries)}


def _policy_row(name: str, threshold: float, *, chosen: bool) -> str:
    return f"{POLICY.format(input=HEAD_INPUTS[name])}, retrieval >= {threshold:.2f}" + (" (chosen)" if chosen else "")


def run_policy_benchmark(
    star: str | Path,
    *,
    embedder: Embedder | None = None,
    runtime: str = DEFAULT_RUNTIME,
    seed: int = 13,
    context_turns: int = 2,
    limit: int | None = None,
    target: float = ANSWER_PRECISION_TARGET,
    retrieval_target: float = RETRIEVAL_PRECISION_TARGET,
    min_validation_replies: int = MIN_VALIDATION_REPLIES,
    out: Path | None = None,
) -> dict[str, Any]:
    """Split STAR, train and calibrate the head, calibrate the retrieval threshold, run every method on
    the held-out queries; print and return the report.

    The sentence encoder is MiniLM as ``runtime`` serves it (:func:`retrieval.bench.star.bench_encoder`);
    a given ``embedder`` replaces it (tests pass the hashing twin).
    """
    if not 0.0 < retrieval_target <= 1.0:
        raise TrainingError(f"the retrieval precision target must be in (0, 1], not {retrieval_target}")
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

    logger.info("loading the sentence encoder (runtime %s)", runtime if embedder is None else "given")
    encoder = bench_encoder(runtime, calibration_texts(split.train), embedder=embedder)
    memo = _Memo(encoder.embedder)
    weights = turn_weights(context_turns)
    turnwise = TurnwiseEmbedder(memo, weights=weights)  # the head's turn + context input
    logger.info("embedding and indexing %d pairs, turn by turn", len(pairs))
    started = time.perf_counter()
    retriever = Retriever.build(memo, [p.pair for p in pairs], turn_weights=weights)  # as a KB build makes it
    built = time.perf_counter()
    retrieved = retriever.search_many([q.text for q in queries], top_k=1)
    searched = time.perf_counter()
    baseline = [Outcome(Action.RETRIEVED, labels[hits[0].source], hits[0].reply) for hits in retrieved]
    val_examples = [examples[i] for i in val_ids]
    val_retrieved = leave_dialogue_out(
        retriever.search_many([e.text for e in val_examples], top_k=VALIDATION_CANDIDATES),
        [e.source for e in val_examples],
        pair_dialogues(split.train, context_turns=context_turns),
    )

    features = {
        TURN: (memo.encode([e.text for e in example_turns]), memo.encode([q.text for q in query_turns])),
        CONTEXT: (turnwise.encode([e.text for e in examples]), turnwise.encode([q.text for q in queries])),
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

    logger.info("calibrating the retrieval threshold on the validation slice (%d messages)", len(val_ids))
    val_texts = [example_turns[i].text for i in val_ids]
    val_predictions = heads[chosen].head.predict(features[chosen][0][val_ids])
    curve = threshold_curve(
        lambda cut: policy_outcomes(
            heads[chosen],
            val_texts,
            val_predictions,
            val_retrieved,
            retrieval_threshold=cut,
            templates=templates,
            labels=labels,
        ),
        validation.labels,
    )
    picked = calibrated_threshold(curve, target=retrieval_target, min_replies=min_validation_replies)
    calibrated = picked.threshold if picked is not None else NO_RETRIEVAL
    compared = [
        t for t in dict.fromkeys([UNCALIBRATED_THRESHOLD, PolicyConfig().retrieval_threshold]) if t != calibrated
    ]

    turn_texts = [q.text for q in query_turns]
    results: list[ReplyScores] = [score_outcomes(RETRIEVAL_ALONE, baseline, gold)]
    kinds: dict[str, list[KindScores]] = {}
    rules: dict[str, dict[str, int]] = {}
    head_top1: dict[str, float] = {}
    chosen_policy: ReplyScores | None = None
    chosen_head_alone: ReplyScores | None = None
    for name, head in heads.items():
        predictions = head.head.predict(features[name][1])
        for cut in [calibrated, *compared] if name == chosen else [calibrated]:
            outcomes = policy_outcomes(
                head, turn_texts, predictions, retrieved, retrieval_threshold=cut, templates=templates, labels=labels
            )
            row_name = _policy_row(name, cut, chosen=name == chosen and cut == calibrated)
            scores = score_outcomes(row_name, outcomes, gold)
            results.append(scores)
            kinds[row_name] = breakdown(outcomes, gold, baseline)
            rules[row_name] = dict(Counter(o.rule for o in outcomes).most_common())
            if name == chosen and cut == calibrated:
                chosen_policy = scores
        head_alone = [Outcome(Action.ANSWER, p.top.intent) for p in predictions]
        head_top1[name] = score_outcomes(HEAD_ALONE, head_alone, gold).match_rate
        if name == chosen:
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
    right = [o.label == g for o, g in zip(baseline, gold, strict=True)]

    def alone_at(cut: float) -> dict[str, Any]:
        above = [hits[0].score >= cut for hits in retrieved]
        return {
            "threshold": cut,
            "share_at_or_above": sum(above) / len(above),
            "precision_at_or_above": _mean([r for r, a in zip(right, above, strict=True) if a]),
            "precision_below": _mean([r for r, a in zip(right, above, strict=True) if not a]),
        }

    by_threshold = [alone_at(cut) for cut in sorted({calibrated, *compared})]
    retrieval_threshold = {
        "target": retrieval_target,
        "min_validation_replies": min_validation_replies,
        "calibrated": calibrated,
        "reached": picked is not None,
        "head_input": chosen,
        "validation_messages": len(val_ids),
        "validation_without_a_pair_from_another_dialogue": sum(not hits for hits in val_retrieved),
        "compared_with": compared,
        "validation_curve": [asdict(point) for point in curve],
    }
    report: dict[str, Any] = {
        "dataset": dataset,
        "answer_precision_target": target,
        "retrieval_threshold": retrieval_threshold,
        "policy_config": asdict(PolicyConfig(answer_threshold=heads[chosen].threshold, retrieval_threshold=calibrated)),
        "embedder": encoder.name,
        "runtime": encoder.runtime,
        "encoder": encoder.facts,
        "turn_weights": weights,
        "heads": {name: {**h.report, "test_top1_accuracy": head_top1[name]} for name, h in heads.items()},
        "chosen_head_input": chosen,
        "results": [asdict(r) for r in results],
        "ratios_vs_retrieval_alone": {r.name: ratios(r, reference) for r in results},
        "breakdown": {name: [asdict(k) for k in rows] for name, rows in kinds.items()},
        "rules": rules,
        "retrieval_alone_by_policy_retrieval_threshold": by_threshold,
        "seconds": {"retriever_build": built - started, "queries_embed_and_search": searched - built},
        "machine": machine_facts(),
    }
    print(
        f"STAR {star}: {len(dialogues)} dialogues, {len(split.train)} train / {len(split.test)} test (seed {seed}); "
        f"{len(pairs)} pairs, {len(queries)} queries, {len(templates)} action labels; context {context_turns} turns; "
        f"embedder {report['embedder']}"
    )
    print(f"sentence encoder: {describe(encoder)}")
    for name, h in heads.items():
        r = h.report
        print(
            f"head on {HEAD_INPUTS[name]}: validation accuracy {percent(r['validation_accuracy'])}%, "
            f"T={r['temperature']:.3f}, ECE {r['ece_before'] or 0:.3f} -> {r['ece_after'] or 0:.3f}; "
            f"threshold {r['threshold']:.3f} answers {percent(r['validation_coverage'])}% of validation at "
            f"{percent(r['validation_precision'])}% right (target {100 * target:.0f}%); test top-1 {percent(head_top1[name])}%"
        )
    print(format_curve(curve, calibrated=calibrated, marked=compared))
    if picked is None:
        print(
            f"retrieval threshold: no threshold reaches {100 * retrieval_target:.0f}% right retrieved replies over "
            f"{min_validation_replies} or more on the validation slice; the policy sends none ({calibrated})"
        )
    else:
        print(
            f"retrieval threshold: {calibrated:.2f}, the lowest at which the policy's retrieved replies on the "
            f"validation slice ({len(val_ids)} messages, head on {HEAD_INPUTS[chosen]}) are >= "
            f"{100 * retrieval_target:.0f}% right: {percent(picked.retrieved_precision)}% right on "
            f"{percent(picked.retrieved_coverage)}% of the messages"
        )
    print(format_table(results, reference))
    for at in by_threshold:
        print(
            f"retrieval alone: top pair scores >= {at['threshold']:.2f} on {percent(at['share_at_or_above'])}% of "
            f"queries, {percent(at['precision_at_or_above'])}% right there, {percent(at['precision_below'])}% below"
        )
    for name, rows in kinds.items():
        print(f"\n{name}:")
        print(format_breakdown(rows))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    return report


def format_curve(
    points: Sequence[ThresholdPoint], *, calibrated: float, marked: Sequence[float] = (), every: float = 0.05
) -> str:
    """The validation curve in brief: every ``every`` from 0.5 up, plus the calibrated and ``marked`` thresholds."""
    shown = [
        p
        for p in points
        if (p.threshold >= 0.5 and round(p.threshold / every, 6).is_integer())
        or p.threshold == calibrated
        or p.threshold in marked
    ]
    lines = [
        "retrieval threshold on the validation slice: the policy's retrieved replies and all its replies",
        "threshold  retrieved %  retrieved right %  replies %  wrong %",
    ]
    for p in shown:
        note = "  <- calibrated" if p.threshold == calibrated else ""
        lines.append(
            f"{p.threshold:9.2f}  {percent(p.retrieved_coverage):>11}  {percent(p.retrieved_precision):>17}  "
            f"{percent(p.coverage):>9}  {percent(p.wrong_rate):>7}{note}"
        )
    return "\n".join(lines)
