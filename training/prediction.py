"""What an intent classifier says about one message, and the seam every classifier fits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy.typing as npt


@dataclass(frozen=True)
class IntentScore:
    intent: str
    probability: float


@dataclass(frozen=True)
class IntentPrediction:
    """Intents ranked by calibrated probability, best first (the full label set)."""

    ranking: tuple[IntentScore, ...]

    @property
    def top(self) -> IntentScore:
        return self.ranking[0]

    @property
    def second(self) -> IntentScore | None:
        return self.ranking[1] if len(self.ranking) > 1 else None


class IntentClassifier(Protocol):
    """Predicts calibrated intent probabilities for a batch of messages."""

    @property
    def labels(self) -> list[str]: ...

    def predict(self, texts: Sequence[str], *, embeddings: npt.ArrayLike | None = None) -> list[IntentPrediction]:
        """Predict; ``embeddings`` are the texts' frozen MiniLM vectors when the caller has them."""
        ...


def rank(labels: Sequence[str], probabilities: Sequence[float]) -> IntentPrediction:
    """Build a prediction from one row of probabilities over ``labels``."""
    pairs = sorted(zip(labels, probabilities, strict=True), key=lambda p: -p[1])
    return IntentPrediction(tuple(IntentScore(label, float(prob)) for label, prob in pairs))
