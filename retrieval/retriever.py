"""The retriever: embed past customer turns, search them, return the agents' replies with scores.

Save/load contract: a folder with the FAISS index, ``pairs.jsonl`` (one pair per vector, in index
order) and ``retriever.json`` (embedding dimension and the index kind, "flat" or "ivf"). The
index is exact below ``flat_below`` pairs and approximate (IVF, re-ranked exactly) from there on:
see ``retrieval.ann.choose_index``. Approved answers are appended with ``add``, without a rebuild.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy.typing as npt

from bot.errors import ModelNotFoundError
from kb.placeholders import placeholder_names
from retrieval.ann import DEFAULT_FLAT_BELOW, choose_index, load_index
from retrieval.embedder import Embedder
from retrieval.index import FaissIndex, VectorIndex
from retrieval.pairs import Pair


@dataclass(frozen=True)
class RetrievedReply:
    reply: str  # de-identified: personal values are ``{placeholders}`` (see kb/placeholders.py)
    customer: str
    score: float
    source: str
    case_specific: bool = False  # reports an action done for that customer, or their case's state
    persona: bool = False  # its writer says they are a person

    @cached_property  # the policy, the composer and assist ask for every hit of every message
    def placeholders(self) -> frozenset[str]:
        """The slots this reply needs before it can be sent (a malformed brace counts as literal text)."""
        return frozenset(placeholder_names(self.reply))

    @property
    def general(self) -> bool:
        """Knowledge any customer may be told: neither case-specific nor said as a person."""
        return not (self.case_specific or self.persona)

    def sendable(self, slots: Iterable[str]) -> bool:
        """Whether the bot may send this reply itself: general, and every placeholder has a value here."""
        return self.general and self.placeholders <= frozenset(slots)


class Retriever:
    def __init__(self, embedder: Embedder, index: VectorIndex, pairs: Sequence[Pair]) -> None:
        if index.size != len(pairs):
            raise ValueError(f"index holds {index.size} vectors but {len(pairs)} pairs were given")
        self.embedder = embedder
        self.index = index
        self.pairs = list(pairs)

    @classmethod
    def build(cls, embedder: Embedder, pairs: Sequence[Pair], *, flat_below: int = DEFAULT_FLAT_BELOW) -> Retriever:
        """Embed ``pairs`` into an exact index, or an approximate one from ``flat_below`` pairs on."""
        index = choose_index(embedder.dim, len(pairs), flat_below=flat_below)
        if pairs:
            index.add(embedder.encode([p.query for p in pairs]))
        return cls(embedder, index, pairs)

    def add(self, pairs: Sequence[Pair]) -> None:
        """Append ``pairs`` (e.g. newly approved answers): embedded and indexed, no rebuild.

        The index keeps its kind: a flat one that grows past ``flat_below`` stays exact (and slower)
        until the next ``deskmate kb build``.
        """
        if not pairs:
            return
        self.index.add(self.embedder.encode([p.query for p in pairs]))
        self.pairs.extend(pairs)

    def search(self, text: str, *, top_k: int = 5) -> list[RetrievedReply]:
        return self.search_many([text], top_k=top_k)[0]

    def search_many(self, texts: Sequence[str], *, top_k: int = 5) -> list[list[RetrievedReply]]:
        if not texts:
            return []
        return self.search_vectors(self.embedder.encode(texts), top_k=top_k)

    def search_vectors(self, vectors: npt.ArrayLike, *, top_k: int = 5) -> list[list[RetrievedReply]]:
        """Search with query vectors already embedded by this retriever's embedder."""
        hits = self.index.search(vectors, top_k)
        return [
            [
                RetrievedReply(
                    reply=self.pairs[h.corpus_id].reply,
                    customer=self.pairs[h.corpus_id].customer,
                    score=h.score,
                    source=self.pairs[h.corpus_id].source,
                    case_specific=self.pairs[h.corpus_id].case_specific,
                    persona=self.pairs[h.corpus_id].persona,
                )
                for h in row
            ]
            for row in hits
        ]

    def save(self, folder: str | Path) -> None:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        if not isinstance(self.index, FaissIndex):
            raise TypeError("only a FAISS-backed retriever can be saved")
        self.index.save(path)
        with (path / "pairs.jsonl").open("w", encoding="utf-8") as handle:
            for pair in self.pairs:
                handle.write(json.dumps(asdict(pair), ensure_ascii=False) + "\n")
        meta = {"dim": self.index.dim, "index": self.index.kind}
        (path / "retriever.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path, embedder: Embedder) -> Retriever:
        path = Path(folder)
        pairs_file = path / "pairs.jsonl"
        if not pairs_file.is_file():
            raise ModelNotFoundError(f"no retriever in {path}; rebuild the KB with `deskmate kb build`")
        index = load_index(path)
        meta_file = path / "retriever.json"
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
        if meta.get("index", index.kind) != index.kind:
            raise ModelNotFoundError(
                f"{meta_file} records a {meta['index']} index but {path / FaissIndex.FILE} holds a {index.kind} one; "
                "rebuild the KB with `deskmate kb build`"
            )
        if index.dim != embedder.dim:
            raise ModelNotFoundError(
                f"the index in {path} has dimension {index.dim} but the embedder gives {embedder.dim}; rebuild the KB"
            )
        with pairs_file.open(encoding="utf-8") as handle:
            pairs = [Pair(**json.loads(line)) for line in handle if line.strip()]
        return cls(embedder, index, pairs)
