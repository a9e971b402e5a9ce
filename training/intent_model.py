"""The shipped intent model: three heads that err differently, mixed and calibrated together.

Why this method (BANKING77, this 2-core CPU; see ``deskmate bench intents``):

* fine-tuning MiniLM alone reaches 92.8% in the 4 epochs a CPU can afford (17 minutes);
* a logistic regression on frozen MiniLM sentence embeddings reaches 93.2% in under a minute;
* mixing the two (a weighted sum of log-probabilities, weights chosen on validation) gave 93.8%
  with ECE 0.8%: they err differently. The frozen embedding costs nothing at serving time,
  because the server embeds every message for retrieval anyway;
* a lexical TF-IDF head (91.4% alone, 1.5 ms) adds the spelling the embeddings smooth over, as a
  third member of the mix.

After mixing, one temperature is fitted on the validation split (expected calibration error
before and after is kept), and the answer threshold is the lowest confidence at which validation
messages are answered at least ``answer_precision_target`` correct. Both are saved with the model.

The fine-tuned transformer is trained with PyTorch and, with ``TrainingConfig.runtime`` "onnx-int8"
(the default), exported to ONNX with fixed int8 activation scales right after (training/onnx_export.py):
the mix is calibrated on the exported model's logits, so the weights, temperature and threshold
are those of the model that serves, and serving imports no torch (training/onnx_transformer.py).

Save/load contract: ``transformer/`` (training/onnx_transformer.py, or training/transformer.py for
the "torch" runtime), ``head/`` (embedding_head.py), ``lexical/`` (lexical_head.py) and
``intent_model.json`` (labels, weights, temperature, threshold, validation metrics).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from bot.errors import ModelNotFoundError
from retrieval.embedder import Embedder
from training.calibration import (
    FloatArray,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    select_threshold,
    softmax,
)
from training.config import TrainingConfig
from training.data import IntentData, stratified_split
from training.embedding_head import EmbeddingHead
from training.lexical_head import LexicalHead
from training.onnx_transformer import OnnxIntentTransformer, is_exported
from training.prediction import IntentPrediction, rank

if TYPE_CHECKING:
    from training.transformer import TransformerIntentClassifier

logger = logging.getLogger(__name__)

META = "intent_model.json"
GRID_STEP = 0.1  # mixing weights are searched on the simplex in steps of 0.1
DEFAULT_THRESHOLD = 0.6  # used when the validation split is too small to choose one
MIN_THRESHOLD_EXAMPLES = 200


def log_softmax(logits: FloatArray) -> FloatArray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    result: FloatArray = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return result


class TransformerMember(Protocol):
    """The fine-tuned transformer as the mix uses it: PyTorch (training) or its ONNX export (serving)."""

    @property
    def labels(self) -> list[str]: ...

    def logits(self, texts: Sequence[str]) -> FloatArray: ...

    def save(self, path: str | Path) -> None: ...


class IntentModel:
    def __init__(
        self,
        transformer: TransformerMember | None,
        head: EmbeddingHead,
        embedder: Embedder,
        *,
        lexical: LexicalHead | None = None,
        weights: tuple[float, float, float] = (0.5, 0.5, 0.0),
        temperature: float = 1.0,
        threshold: float = 0.6,
        metrics: dict[str, Any] | None = None,
    ) -> None:
        if (transformer is not None and transformer.labels != head.labels) or (
            lexical is not None and lexical.labels != head.labels
        ):
            raise ValueError("the transformer and the heads must share one label order")
        if transformer is None and weights[0] > 0:
            raise ValueError("a model without a fine-tuned transformer cannot give it a weight")
        self.transformer = transformer
        self.head = head
        self.lexical = lexical
        self.embedder = embedder
        self.weights = weights
        self.temperature = temperature
        self.threshold = threshold
        self.metrics = dict(metrics or {})

    @property
    def labels(self) -> list[str]:
        return self.head.labels

    def logits(self, texts: Sequence[str], *, embeddings: npt.ArrayLike | None = None) -> FloatArray:
        """Mixed log-probabilities (before the temperature), one row per text."""
        vectors = self.embedder.encode(texts) if embeddings is None else embeddings
        members = [
            self.transformer.logits(texts) if self.transformer is not None and self.weights[0] > 0 else None,
            self.head.logits(vectors),
            self.lexical.logits(texts) if self.lexical is not None and self.weights[2] > 0 else None,
        ]
        return mix(members, self.weights)

    def probabilities(self, texts: Sequence[str], *, embeddings: npt.ArrayLike | None = None) -> FloatArray:
        return softmax(self.logits(texts, embeddings=embeddings), self.temperature)

    def predict(self, texts: Sequence[str], *, embeddings: npt.ArrayLike | None = None) -> list[IntentPrediction]:
        return [rank(self.labels, row.tolist()) for row in self.probabilities(texts, embeddings=embeddings)]

    def save(self, folder: str | Path) -> None:
        path = Path(folder)
        if self.transformer is not None:
            self.transformer.save(path / "transformer")
        self.head.save(path / "head")
        if self.lexical is not None:
            self.lexical.save(path / "lexical")
        meta = {
            "labels": self.labels,
            "weights": list(self.weights),
            "temperature": self.temperature,
            "threshold": self.threshold,
            "metrics": self.metrics,
        }
        (path / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path, embedder: Embedder, *, int8: bool = False) -> IntentModel:
        """Load a saved model: its ONNX transformer, or the PyTorch one (``int8``: dynamic int8 on the CPU)."""
        path = Path(folder)
        if not (path / META).is_file():
            raise ModelNotFoundError(f"no intent model in {path} ({META} is missing); rebuild it with `deskmate train`")
        meta = json.loads((path / META).read_text(encoding="utf-8"))
        transformer: TransformerMember | None
        if not (path / "transformer").is_dir():  # a model of the heads alone (train_heads_model)
            transformer = None
        elif is_exported(path / "transformer"):
            transformer = OnnxIntentTransformer(path / "transformer")
        else:
            from training.transformer import TransformerIntentClassifier, quantize_int8

            loaded = TransformerIntentClassifier.load(path / "transformer")
            transformer = quantize_int8(loaded) if int8 else loaded
        return cls(
            transformer,
            EmbeddingHead.load(path / "head"),
            embedder,
            lexical=LexicalHead.load(path / "lexical") if (path / "lexical").is_dir() else None,
            weights=tuple(meta["weights"]),
            temperature=meta["temperature"],
            threshold=meta["threshold"],
            metrics=meta.get("metrics", {}),
        )


def mix(members: Sequence[FloatArray | None], weights: Sequence[float]) -> FloatArray:
    """Weighted sum of the members' log-probabilities (members beyond ``len(weights)`` are ignored;
    a member of weight 0 may be None: it was not computed)."""
    present = [m for m in members if m is not None]
    total: FloatArray = sum(  # type: ignore[assignment]
        (w * log_softmax(m) for m, w in zip(members, weights, strict=False) if w > 0 and m is not None),
        np.zeros_like(present[0]),
    )
    return total


def simplex(step: float = GRID_STEP) -> list[tuple[float, float, float]]:
    """Every (a, b, c) >= 0 with a + b + c = 1 in steps of ``step``."""
    n = round(1 / step)
    return [
        (round(i * step, 4), round(j * step, 4), round((n - i - j) * step, 4))
        for i in range(n + 1)
        for j in range(n + 1 - i)
    ]


def train_intent_model(
    data: IntentData,
    embedder: Embedder,
    *,
    config: TrainingConfig | None = None,
    progress: bool = True,
    metadata: dict[str, object] | None = None,
    export_to: Path | None = None,
) -> IntentModel:
    """Split, fine-tune with early stopping, export (``config.runtime``), fit the embedding head, mix,
    calibrate, pick the threshold. The export is written to ``export_to`` (a temporary folder if None)."""
    from training.finetune import fine_tune

    config = config or TrainingConfig()
    started = time.perf_counter()
    train, validation = split(data, config)
    tuned = fine_tune(
        train, validation=validation, labels=data.label_names, config=config, progress=progress, metadata=metadata
    )
    model = assemble(tuned, data, embedder, config=config, export_to=export_to)
    model.metrics["train_seconds"] = round(time.perf_counter() - started, 1)
    return model


def train_heads_model(
    data: IntentData, embedder: Embedder, *, config: TrainingConfig | None = None, lexical: bool = True
) -> IntentModel:
    """The intent model without a fine-tuned transformer: the embedding head on ``embedder``'s vectors
    and (``lexical``) the lexical head, mixed and calibrated like :func:`train_intent_model`.

    For an encoder that cannot be fine-tuned (the multilingual one, retrieval/languages/multilingual.py) or a
    tokenizer that does not cover the KB's language. Trains in seconds.
    """
    config = config or TrainingConfig()
    started = time.perf_counter()
    train, validation = split(data, config)
    labels = data.label_names
    head = EmbeddingHead.fit(embedder.encode(train.texts), train.labels, label_order=labels, c=config.head_c)
    words = LexicalHead.fit(train.texts, train.labels, label_order=labels) if lexical else None
    weights = (0.0, 0.5, 0.5) if words is not None else (0.0, 1.0, 0.0)
    model = IntentModel(None, head, embedder, lexical=words, weights=weights, threshold=DEFAULT_THRESHOLD)
    if len(validation):
        calibrate(model, validation, target=config.answer_precision_target)
    model.metrics["validation_examples"] = len(validation)
    model.metrics["train_seconds"] = round(time.perf_counter() - started, 1)
    return model


def split(data: IntentData, config: TrainingConfig) -> tuple[IntentData, IntentData]:
    """(train, validation): no validation split when it would hold too few examples."""
    if len(data) * config.validation_fraction >= config.min_validation_examples:
        return stratified_split(data, config.validation_fraction, seed=config.seed)
    return data, IntentData([], [])


def assemble(
    tuned: TransformerIntentClassifier,
    data: IntentData,
    embedder: Embedder,
    *,
    config: TrainingConfig,
    export_to: Path | None = None,
) -> IntentModel:
    """The fine-tuned transformer exported for ``config.runtime``, with the two heads fitted on the
    training split of ``data`` and the mix calibrated on its validation split."""
    train, validation = split(data, config)
    labels = data.label_names
    transformer = exported(tuned, config, calibration=train.texts, folder=export_to)
    head = EmbeddingHead.fit(embedder.encode(train.texts), train.labels, label_order=labels, c=config.head_c)
    lexical = LexicalHead.fit(train.texts, train.labels, label_order=labels)
    model = IntentModel(transformer, head, embedder, lexical=lexical, temperature=1.0, threshold=DEFAULT_THRESHOLD)
    if len(validation):
        calibrate(model, validation, target=config.answer_precision_target)
    model.metrics["validation_examples"] = len(validation)
    return model


def exported(
    transformer: TransformerIntentClassifier, config: TrainingConfig, *, calibration: Sequence[str], folder: Path | None
) -> TransformerMember:
    """The fine-tuned transformer as it will serve: its ONNX export, unless ``config.runtime`` is "torch".

    Without ``folder`` the export lives in a temporary folder, removed with the returned model.
    """
    import shutil
    import tempfile
    import weakref

    from training.onnx_export import export_classifier, quantization_of

    quantization = quantization_of(config.runtime)
    if quantization is None:
        return transformer
    target = folder if folder is not None else Path(tempfile.mkdtemp(prefix="deskmate-intents-"))
    export_classifier(
        transformer.model,
        transformer.tokenizer,
        target,
        calibration=calibration,
        quantization=quantization,
        max_length=transformer.max_length,
    )
    transformer.save_labels(target)
    served = OnnxIntentTransformer(target)
    if folder is None:
        weakref.finalize(served, shutil.rmtree, target, True)
    return served


def calibrate(model: IntentModel, validation: IntentData, *, target: float) -> None:
    """Choose the mixing weights, the temperature and the answer threshold on ``validation``."""
    index = {label: i for i, label in enumerate(model.labels)}
    gold = np.array([index[label] for label in validation.labels], dtype=np.int64)
    members: list[FloatArray | None] = [
        model.transformer.logits(validation.texts) if model.transformer is not None else None,
        model.head.logits(model.embedder.encode(validation.texts)),
        model.lexical.logits(validation.texts) if model.lexical is not None else None,
    ]
    grid = [w for w in simplex() if all(m is not None or weight == 0 for m, weight in zip(members, w, strict=True))]

    def accuracy(weights: tuple[float, float, float]) -> float:
        return float((mix(members, weights).argmax(axis=1) == gold).mean())

    accuracies = {w: accuracy(w) for w in grid}
    best = max(accuracies.values())
    # Among the most accurate mixes, the one with the best calibrated likelihood.
    candidates = [w for w in grid if accuracies[w] >= best - 1e-12]

    def likelihood(weights: tuple[float, float, float]) -> float:
        mixed = mix(members, weights)
        return -negative_log_likelihood(mixed, gold, fit_temperature(mixed, gold))

    weights = max(candidates, key=likelihood)
    mixed = mix(members, weights)
    temperature = fit_temperature(mixed, gold)
    before, after = softmax(mixed, 1.0), softmax(mixed, temperature)
    correct = after.argmax(axis=1) == gold
    threshold, coverage = select_threshold(after.max(axis=1), correct, target=target)
    if len(gold) < MIN_THRESHOLD_EXAMPLES:
        # A 97% target measured on a few dozen messages is noise: keep the documented default.
        threshold, coverage = DEFAULT_THRESHOLD, float((after.max(axis=1) >= DEFAULT_THRESHOLD).mean())
    model.weights, model.temperature, model.threshold = weights, temperature, threshold
    alone = {  # None: that member is not in the model
        name: accuracies.get(w)
        for name, w in (
            ("transformer", (1.0, 0.0, 0.0)),
            ("embedding_head", (0.0, 1.0, 0.0)),
            ("lexical_head", (0.0, 0.0, 1.0)),
        )
    }
    model.metrics.update(
        {
            "weights": {"transformer": weights[0], "embedding_head": weights[1], "lexical_head": weights[2]},
            "validation_accuracy": {"mix": best, **alone},
            "ece_before": round(expected_calibration_error(before, gold), 4),
            "ece_after": round(expected_calibration_error(after, gold), 4),
            "temperature": round(temperature, 4),
            "threshold": round(threshold, 4),
            "answered_coverage": round(coverage, 4),
            "answer_precision_target": target,
            "threshold_source": "validation" if len(gold) >= MIN_THRESHOLD_EXAMPLES else "default",
        }
    )
    logger.info(
        "calibrated: weights %s, temperature %.3f, threshold %.3f (coverage %.1f%%)",
        weights,
        temperature,
        threshold,
        100 * coverage,
    )
