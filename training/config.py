"""Training options for the intent classifier, as one dataclass saved beside the weights."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class TrainingConfig:
    """How the MiniLM intent classifier is fine-tuned.

    The defaults suit a support KB of 20-100 intents with 15-100 examples each on a laptop CPU.
    """

    epochs: int = 8
    batch_size: int = 16
    learning_rate: float = 1e-4
    head_learning_rate: float = 2e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    max_length: int = 64
    label_smoothing: float = 0.0
    validation_fraction: float = 0.1
    min_validation_examples: int = 40
    early_stopping_patience: int = 2
    head_c: float = 20.0
    answer_precision_target: float = 0.97
    seed: int = 13
    # how the fine-tuned transformer serves: "onnx-int8" (fixed activation scales), "onnx-float32" or
    # "torch" (training/onnx_export.py); the KB build exports the sentence encoder the same way
    runtime: str = "onnx-int8"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)
