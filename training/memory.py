"""An in-memory intent classifier: the twin of the transformer model for fast tests.

It scores messages by word overlap with each intent's examples and turns the scores into
probabilities with a softmax. Deterministic and instant; not meant for production.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy.typing as npt

from training.prediction import IntentPrediction, rank

_WORD = re.compile(r"[a-z0-9']+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


class InMemoryIntentClassifier:
    def __init__(self, examples: dict[str, Sequence[str]], *, sharpness: float = 12.0) -> None:
        self._examples = {intent: [_words(t) for t in texts] for intent, texts in examples.items()}
        self._sharpness = sharpness

    @property
    def labels(self) -> list[str]:
        return list(self._examples)

    def predict(self, texts: Sequence[str], *, embeddings: npt.ArrayLike | None = None) -> list[IntentPrediction]:
        return [self._predict_one(text) for text in texts]

    def _predict_one(self, text: str) -> IntentPrediction:
        words = _words(text)
        scores = []
        for examples in self._examples.values():
            best = 0.0
            for example in examples:
                union = words | example
                if union:
                    best = max(best, len(words & example) / len(union))
            scores.append(best * self._sharpness)
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return rank(self.labels, [e / total for e in exps])
