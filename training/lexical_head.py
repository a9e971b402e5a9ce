"""A lexical intent head: word and character n-gram TF-IDF under a logistic regression.

It sees spelling (order numbers, product names, typos) that sentence embeddings smooth over, so it
errs differently from the two sentence-embedding heads. Character n-grams need no word edges, so
they read Chinese as well; the word n-grams get jieba's words for it and earns a small weight in the mix
(training/intent_model.py). About 1.5 ms a message on a CPU.

Save/load contract, without pickle: ``lexical_head.json`` (both vectorizers' parameters,
vocabularies and idf weights, the labels) and ``lexical_head.npz`` (regression weights, bias).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import ModelNotFoundError, TrainingError
from kb.languages.segmentation import has_ideographs, words
from training.calibration import FloatArray, softmax
from training.prediction import IntentPrediction, rank

META = "lexical_head.json"
WEIGHTS = "lexical_head.npz"


def lexical_words(text: str) -> list[str]:
    """Words of two characters or more, as scikit-learn's default, but Chinese segmented by jieba
    (kb/languages/segmentation.py): one-character Chinese words ("退", "换") are kept, they carry meaning."""
    return [word for word in words(text) if len(word) > 1 or has_ideographs(word)]


VECTORIZERS: dict[str, dict[str, Any]] = {
    "word": {
        "analyzer": "word",
        "tokenizer": lexical_words,
        "token_pattern": None,
        "lowercase": False,  # lexical_words lowercases
        "ngram_range": (1, 2),
        "sublinear_tf": True,
    },
    "char": {"analyzer": "char_wb", "ngram_range": (2, 5), "sublinear_tf": True},
}


class LexicalHead:
    def __init__(
        self,
        vectorizers: dict[str, Any],
        weights: FloatArray,
        bias: FloatArray,
        labels: Sequence[str],
        *,
        c: float = 10.0,
    ) -> None:
        if weights.shape[0] != len(labels) or bias.shape[0] != len(labels):
            raise ValueError(f"weights have {weights.shape[0]} rows for {len(labels)} labels")
        self.vectorizers = vectorizers
        self.weights = np.asarray(weights, dtype=np.float64)
        self.bias = np.asarray(bias, dtype=np.float64)
        self._labels = list(labels)
        self.c = c

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def _features(self, texts: Sequence[str]) -> Any:
        from scipy.sparse import hstack

        return hstack([self.vectorizers[name].transform(list(texts)) for name in VECTORIZERS]).tocsr()

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        label_order: Sequence[str],
        c: float = 10.0,
        max_iter: int = 2000,
    ) -> LexicalHead:
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        if len(set(labels)) < 2:
            raise TrainingError("the lexical head needs at least two intents")
        vectorizers = {name: TfidfVectorizer(**params).fit(list(texts)) for name, params in VECTORIZERS.items()}
        features = hstack([vectorizers[name].transform(list(texts)) for name in VECTORIZERS]).tocsr()
        model = LogisticRegression(C=c, max_iter=max_iter).fit(features, list(labels))
        classes = [str(k) for k in model.classes_]
        missing = [label for label in label_order if label not in classes]
        if missing:
            raise TrainingError(f"no training example for intents {missing}")
        order = [classes.index(label) for label in label_order]
        return cls(vectorizers, model.coef_[order], model.intercept_[order], label_order, c=c)

    def logits(self, texts: Sequence[str]) -> FloatArray:
        result: FloatArray = np.asarray(self._features(texts) @ self.weights.T) + self.bias
        return result

    def probabilities(self, texts: Sequence[str]) -> FloatArray:
        return softmax(self.logits(texts))

    def predict(self, texts: Sequence[str]) -> list[IntentPrediction]:
        return [rank(self._labels, row.tolist()) for row in self.probabilities(texts)]

    def save(self, folder: str | Path) -> None:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        np.savez(path / WEIGHTS, weights=self.weights, bias=self.bias)
        vectorizers = {
            name: {"vocabulary": {k: int(v) for k, v in vec.vocabulary_.items()}, "idf": vec.idf_.tolist()}
            for name, vec in self.vectorizers.items()
        }
        meta = {"labels": self._labels, "c": self.c, "vectorizers": vectorizers}
        (path / META).write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> LexicalHead:
        from sklearn.feature_extraction.text import TfidfVectorizer

        path = Path(folder)
        if not (path / META).is_file() or not (path / WEIGHTS).is_file():
            raise ModelNotFoundError(f"no lexical head in {path}; rebuild the KB with `deskmate kb build`")
        meta = json.loads((path / META).read_text(encoding="utf-8"))
        vectorizers = {}
        for name, params in VECTORIZERS.items():
            saved = meta["vectorizers"][name]
            vectorizer = TfidfVectorizer(**params, vocabulary=saved["vocabulary"])
            vectorizer.idf_ = np.array(saved["idf"])
            vectorizers[name] = vectorizer
        with np.load(path / WEIGHTS) as arrays:
            return cls(vectorizers, arrays["weights"], arrays["bias"], meta["labels"], c=meta.get("c", 10.0))
