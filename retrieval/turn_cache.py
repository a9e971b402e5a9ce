"""Each turn encoded once: the vectors of recent turns, kept by their text in a bounded cache.

A message's retrieval query is the message and the turns before it, each embedded alone
(retrieval/turnwise.py). Those earlier turns were the previous message, embedded a turn ago, and
the bot's reply, mostly a template that every conversation sends. So the vectors are kept by
text, least recently used first out: a batch encodes its messages and only the context turns it
has not seen, in one call. After a restart the cache is empty and the conversation's stored
turns are encoded again the first time they are needed.

Keeping vectors by text is exact only because a text's vector does not depend on the batch it
was encoded in (static int8 or float32, retrieval/onnx_encoder.py). The cache keeps vectors under
a hash of their text, in memory, never the text itself.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from retrieval.embedder import Embedder
from retrieval.search import Vectors

CAPACITY = 4096  # vectors of 384 floats: 6 MB


class TurnVectors:
    def __init__(self, embedder: Embedder, *, capacity: int = CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("the turn cache needs room for at least one vector")
        self.embedder = embedder
        self.capacity = capacity
        self._vectors: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # the serving batch and a reload's warm-up may share it
        self.encoded = 0  # texts encoded, for tests and the benchmark
        self.reused = 0  # texts found in the cache

    def encode(self, texts: Sequence[str], contexts: Sequence[Sequence[str]], *, slots: int) -> list[Vectors]:
        """``[messages, turn before, turn before that, ...]``: ``slots`` matrices of one row per message,
        zero rows where a message has fewer earlier turns. ``contexts[i]`` is oldest first."""
        if len(contexts) != len(texts):
            raise ValueError(f"{len(contexts)} contexts for {len(texts)} messages; pass one per message")
        turns = [[text, *reversed(context)][:slots] for text, context in zip(texts, contexts, strict=True)]
        found = self._vectors_of({turn for row in turns for turn in row})
        matrices = [np.zeros((len(texts), self.embedder.dim), dtype=np.float32) for _ in range(slots)]
        for row, row_turns in enumerate(turns):
            for slot, turn in enumerate(row_turns):
                matrices[slot][row] = found[turn]
        return matrices

    def _vectors_of(self, texts: set[str]) -> dict[str, np.ndarray]:
        keys = {text: _key(text) for text in texts}
        with self._lock:
            found = {text: self._vectors[key] for text, key in keys.items() if key in self._vectors}
            for text in found:
                self._vectors.move_to_end(keys[text])
        missing = sorted(texts - found.keys())
        if missing:
            vectors = self.embedder.encode(missing)
            found.update(zip(missing, vectors, strict=True))
        with self._lock:
            self.encoded += len(missing)
            self.reused += len(texts) - len(missing)
            for text in missing:
                self._vectors[keys[text]] = found[text]
            while len(self._vectors) > self.capacity:
                self._vectors.popitem(last=False)
        return found


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
