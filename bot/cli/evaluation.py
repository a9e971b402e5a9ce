"""``deskmate eval``: an intent model, or a KB's build as the server reads each message, on a test CSV.

A KB folder (built, or its build reused) or a KB build is judged the way the server answers: each
message's language detected, read by the pipeline for that language (the main one, or an English
KB's cross-lingual one: bot/service/brain.py), answered when its intent model is confident enough
(each pipeline has its own threshold) and the in-scope gate lets it through. A bare intent model
folder is judged on its probabilities and threshold alone. ``--language`` plays the customers'
browser language (the widget sends it): a message too short to say its own ("hola") is read as
written in it, as in a conversation that started in that language.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import numpy as np

from bot.errors import ModelError
from kb.build import BuildInfo
from retrieval.embedder import Embedder
from training.report import Evaluation, write_report


def evaluate(source: Path, test_csv: Path, out: Path, *, language: str | None = None) -> int:
    """``language``: the customers' browser language, as the widget tells the server (``hello``): a
    message that does not say its own language is read as written in it."""
    from bot.ops.config import Settings
    from kb.build import MANIFEST, build_kb
    from retrieval.embedder import MiniLMEmbedder
    from training.data import load_csv

    embedder = MiniLMEmbedder()
    folder = source
    if (folder / "intents.yml").is_file():  # a KB folder: evaluate its (built or reused) build
        folder = build_kb(folder, Settings.from_env().builds, embedder=embedder).path
    test = load_csv(test_csv)
    if (folder / MANIFEST).is_file():
        evaluation, routes = _build_evaluation(BuildInfo.read(folder), embedder, test.texts, test.labels, language)
        title = f"KB build {folder.name}"
    else:
        evaluation, routes, title = (
            _model_evaluation(folder, embedder, test.texts, test.labels),
            Counter(),
            f"Intent model {folder}",
        )
    metrics = write_report(evaluation, out, title=title)
    print(
        f"accuracy {100 * metrics['accuracy']:.2f}%  macro-F1 {100 * metrics['macro_f1']:.2f}%  "
        f"ECE {100 * metrics['ece']:.2f}%  answered {100 * metrics['answered_coverage']:.1f}% at threshold "
        f"{metrics['threshold']:.2f}"
    )
    if "out_of_scope" in metrics:
        oos = metrics["out_of_scope"]
        print(f"out of scope: recall {100 * oos['recall']:.1f}%  AUROC {oos['auroc']:.3f}")
    if routes:
        print("read by: " + ", ".join(f"{name} pipeline {count}" for name, count in sorted(routes.items())))
    print(f"report: {out / 'index.html'}")
    return 0


def _check_labels(labels: list[str], gold: list[str], test: str) -> None:
    unknown = sorted(set(gold) - set(labels) - {"out_of_scope"})
    if unknown:
        raise ModelError(f"{test} has intents the model does not know: {', '.join(unknown)}; fix the file")


def _model_evaluation(folder: Path, embedder: Embedder, texts: list[str], gold: list[str]) -> Evaluation:
    from training.intent_model import META, IntentModel

    if not (folder / META).is_file() and (folder / "classifier" / META).is_file():
        folder = folder / "classifier"
    model = IntentModel.load(folder, embedder)
    _check_labels(model.labels, gold, "the test file")
    return Evaluation(model.labels, texts, gold, model.probabilities(texts), model.threshold)


def _build_evaluation(
    info: BuildInfo, embedder: Embedder, texts: list[str], gold: list[str], language: str | None
) -> tuple[Evaluation, Counter[str]]:
    from bot.core.policy import PolicyConfig
    from bot.service.brain import Brain

    brain = Brain.load(info, embedder)
    labels = brain.kb.intent_names
    _check_labels(labels, gold, "the test file")
    understood = brain.understand(texts, None, [brain.language_of(t) or language for t in texts])
    index = {label: i for i, label in enumerate(labels)}
    probabilities = np.zeros((len(texts), len(labels)))
    for row, understanding in enumerate(understood):
        for scored in understanding.prediction.ranking:
            probabilities[row, index[scored.intent]] = scored.probability
    thresholds = np.array([brain.policy_for(u).answer_threshold for u in understood])
    similarity = np.array([u.example_similarity if u.example_similarity is not None else 1.0 for u in understood])
    out_of_scope = np.array([u.nearest_is_out_of_scope for u in understood])
    # the server's gates: its pipeline's answer threshold, and the in-scope gate (bot/core/policy.py)
    gate = (probabilities.max(axis=1) >= thresholds) & (similarity >= PolicyConfig().min_example_similarity)
    gate &= ~out_of_scope
    scores = np.where(out_of_scope, similarity - 2.0, similarity)  # nearest an out-of-scope example: lowest
    evaluation = Evaluation(labels, texts, gold, probabilities, float(thresholds.min()))
    routes = Counter(u.pipeline for u in understood)
    return dataclasses.replace(evaluation, in_scope_gate=gate, scope_scores=scores), routes
