"""The fine-tuned intent transformer as served: its ONNX export (training/onnx_export.py), no torch.

The folder holds the exported model (retrieval/onnx_encoder.py) and ``deskmate_intents.json``
with the label order, like the PyTorch model's folder (training/transformer.py), so a saved
intent model is loaded by whichever of the two the folder holds.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import ModelNotFoundError
from retrieval.onnx_encoder import META, MODEL, TOKENIZER, OnnxEncoder
from training.calibration import FloatArray, softmax
from training.prediction import IntentPrediction, rank

LABELS_FILE = "deskmate_intents.json"  # as training/transformer.py names it


def is_exported(folder: str | Path) -> bool:
    return (Path(folder) / MODEL).is_file()


class OnnxIntentTransformer:
    """Logits of the exported fine-tuned classifier; the same contract as the PyTorch one's ``logits``."""

    def __init__(self, folder: str | Path) -> None:
        path = Path(folder)
        meta_path = path / LABELS_FILE
        if not meta_path.is_file():
            raise ModelNotFoundError(
                f"no intent model in {path} ({LABELS_FILE} is missing); rebuild it with `deskmate train`"
            )
        self.metadata: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        self._labels = list(self.metadata.pop("labels"))
        self.encoder = OnnxEncoder(path)
        if self.encoder.meta.output != "logits" or self.encoder.dim != len(self._labels):
            raise ModelNotFoundError(
                f"{path} holds a {self.encoder.meta.output} model of {self.encoder.dim} outputs, not the logits of "
                f"{len(self._labels)} intents; rebuild it with `deskmate train`"
            )
        self.folder = path

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    @property
    def quantization(self) -> str:
        return self.encoder.meta.quantization

    def logits(self, texts: Sequence[str]) -> FloatArray:
        if not texts:
            return np.zeros((0, len(self._labels)), dtype=np.float64)
        return self.encoder.run(texts).astype(np.float64)

    @property
    def temperature(self) -> float:
        return float(self.metadata.get("temperature", 1.0))

    def probabilities(self, texts: Sequence[str]) -> FloatArray:
        return softmax(self.logits(texts), self.temperature)

    def predict(self, texts: Sequence[str]) -> list[IntentPrediction]:
        """The transformer alone (the intent model mixes it with two heads): ranked intents per text."""
        return [rank(self._labels, row.tolist()) for row in self.probabilities(texts)]

    def save(self, folder: str | Path) -> None:
        target = Path(folder)
        if target.resolve() == self.folder.resolve():
            return
        target.mkdir(parents=True, exist_ok=True)
        for name in (MODEL, TOKENIZER, META):
            shutil.copyfile(self.folder / name, target / name)
        meta = {"labels": self._labels, **self.metadata}
        (target / LABELS_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
