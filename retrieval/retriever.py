"""The retriever: embed past customer turns, search them, return the agents' replies with scores.

Turn by turn (the build default): a pair's query is embedded one turn at a time, in weighted
slots, newest turn first (retrieval/turnwise.py), so that a customer turn is compared with a
customer turn and the agent turn before it with the agent turn before it. On STAR this beats one
vector of the joined text (recall@1 45.5% against 40.1%, ``deskmate bench retrieval``), and the
server encodes each message once, keeping the vectors of earlier turns. Turns that one side lacks
count as zero: a pair without context (an FAQ question) scores at most 1/1.5 against a message
with two earlier turns, as it did against the joined text. Matching such pairs against the
message alone was tried and cost 1.5 points of recall@1 on STAR (43.95%), so it is not done.

Save/load contract: a folder with the FAISS index, ``pairs.jsonl`` (one pair per vector, in index
order) and ``retriever.json`` (embedding dimension, the index kind, "flat" or "ivf", and the turn
slots' weights, absent for a retriever of joined texts). The
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
from retrieval.search import Vectors
from retrieval.turnwise import TurnwiseEmbedder, compose

TURN_WEIGHTS = (1.0, 1.0, 0.5)  # the message, the turn before it, the one before that (retrieval/bench/star.py)


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
    """Past replies found by their customer turns; ``embedder`` embeds one turn (the sentence encoder)."""

    def __init__(
        self,
        embedder: Embedder,
        index: VectorIndex,
        pairs: Sequence[Pair],
        *,
        turn_weights: Sequence[float] | None = None,
    ) -> None:
        if index.size != len(pairs):
            raise ValueError(f"index holds {index.size} vectors but {len(pairs)} pairs were given")
        self.embedder = embedder
        self.turn_weights = [float(w) for w in turn_weights] if turn_weights else None
        self.query_embedder: Embedder = (
            TurnwiseEmbedder(embedder, weights=self.turn_weights) if self.turn_weights else embedder
        )
        self.index = index
        self.pairs = list(pairs)

    @classmethod
    def build(
        cls,
        embedder: Embedder,
        pairs: Sequence[Pair],
        *,
        turn_weights: Sequence[float] | None = TURN_WEIGHTS,
        flat_below: int = DEFAULT_FLAT_BELOW,
    ) -> Retriever:
        """Embed ``pairs`` (turn by turn unless ``turn_weights`` is None) into an exact index, or an
        approximate one from ``flat_below`` pairs on."""
        dim = embedder.dim * (len(turn_weights) if turn_weights else 1)
        retriever = cls(embedder, choose_index(dim, len(pairs), flat_below=flat_below), [], turn_weights=turn_weights)
        retriever.add(pairs)  # the whole corpus at once: an approximate index is trained on it
        return retriever

    def add(self, pairs: Sequence[Pair]) -> None:
        """Append ``pairs`` (e.g. newly approved answers): embedded and indexed, no rebuild.

        The index keeps its kind: a flat one that grows past ``flat_below`` stays exact (and slower)
        until the next ``deskmate kb build``.
        """
        if not pairs:
            return
        self.index.add(self.query_embedder.encode([p.query for p in pairs]))
        self.pairs.extend(pairs)

    def search(self, text: str, *, top_k: int = 5) -> list[RetrievedReply]:
        return self.search_many([text], top_k=top_k)[0]

    def search_many(self, texts: Sequence[str], *, top_k: int = 5) -> list[list[RetrievedReply]]:
        if not texts:
            return []
        if isinstance(self.query_embedder, TurnwiseEmbedder):
            return self.search_turns(self.query_embedder.turn_vectors(texts), top_k=top_k)
        return self.search_vectors(self.embedder.encode(texts), top_k=top_k)

    def search_turns(self, turns: Sequence[Vectors], *, top_k: int = 5) -> list[list[RetrievedReply]]:
        """Search with turn vectors: ``turns[0]`` the messages', ``turns[i]`` those of the turn ``i``
        before each (zero rows where there is none), all from ``embedder``.

        A retriever of joined texts has no turn slots: it is searched with the messages alone.
        """
        if not self.turn_weights:
            return self.search_vectors(turns[0], top_k=top_k)
        return self.search_vectors(compose(turns, self.turn_weights), top_k=top_k)

    def search_vectors(self, vectors: npt.ArrayLike, *, top_k: int = 5) -> list[list[RetrievedReply]]:
        """Search with query vectors already embedded by ``query_embedder``."""
        hits = self.index.search(vectors, top_k)
        return [[self._reply(h.corpus_id, h.score) for h in row] for row in hits]

    def _reply(self, corpus_id: int, score: float) -> RetrievedReply:
        pair = self.pairs[corpus_id]
        return RetrievedReply(
            reply=pair.reply,
            customer=pair.customer,
            score=score,
            source=pair.source,
            case_specific=pair.case_specific,
            persona=pair.persona,
        )

    def save(self, folder: str | Path) -> None:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        if not isinstance(self.index, FaissIndex):
            raise TypeError("only a FAISS-backed retriever can be saved")
        self.index.save(path)
        with (path / "pairs.jsonl").open("w", encoding="utf-8") as handle:
            for pair in self.pairs:
                handle.write(json.dumps(asdict(pair), ensure_ascii=False) + "\n")
        meta = {"dim": self.index.dim, "index": self.index.kind, "turn_weights": self.turn_weights}
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
        weights = meta.get("turn_weights")
        slots = len(weights) if weights else 1
        if index.dim != embedder.dim * slots:
            raise ModelNotFoundError(
                f"the index in {path} has dimension {index.dim} but the embedder gives {embedder.dim} for each of "
                f"{slots} turns; rebuild the KB"
            )
        with pairs_file.open(encoding="utf-8") as handle:
            pairs = [Pair(**json.loads(line)) for line in handle if line.strip()]
        return cls(embedder, index, pairs, turn_weights=weights)
