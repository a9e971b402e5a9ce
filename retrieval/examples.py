"""Memory of the intents' training examples in embedding space.

How close a message is to the nearest example the classifier learnt from is an honest signal of
whether the message is in scope at all: fine-tuned classifiers give confident probabilities to
messages unlike anything they saw ("blah blah" -> goodbye 0.90), while the nearest-example
similarity stays low for them.

Save/load contract: a folder with the FAISS index of the examples and ``labels.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy.typing as npt

from bot.errors import ModelNotFoundError
from retrieval.embedder import Embedder
from retrieval.index import FaissIndex


@dataclass(frozen=True)
class NearestExample:
    intent: str
    similarity: float


class ExampleMemory:
    def __init__(self, index: FaissIndex, labels: Sequence[str]) -> None:
        if index.size != len(labels):
            raise ValueError(f"index holds {index.size} vectors but {len(labels)} labels were given")
        self.index = index
        self.labels = list(labels)

    @classmethod
    def build(cls, embedder: Embedder, texts: Sequence[str], labels: Sequence[str]) -> ExampleMemory:
        index = FaissIndex(embedder.dim)
        if texts:
            index.add(embedder.encode(texts))
        return cls(index, labels)

    def nearest(self, vectors: npt.ArrayLike) -> list[NearestExample | None]:
        """The nearest example of each query vector (None when the memory is empty)."""
        return [
            NearestExample(self.labels[row[0].corpus_id], row[0].score) if row else None
            for row in self.index.search(vectors, 1)
        ]

    def save(self, folder: str | Path) -> None:
        path = Path(folder)
        self.index.save(path)
        (path / "labels.json").write_text(json.dumps(self.labels), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> ExampleMemory:
        path = Path(folder)
        if not (path / "labels.json").is_file():
            raise ModelNotFoundError(f"no example memory in {path}; rebuild the KB with `deskmate kb build`")
        return cls(FaissIndex.load(path), json.loads((path / "labels.json").read_text(encoding="utf-8")))
