"""One way of understanding messages: a sentence encoder and what was fitted on its vectors.

A brain (bot/service/brain.py) has its main pipeline and, for an English KB, a cross-lingual one on
the multilingual encoder for customers who write other languages (kb/build.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.core.policy import Understanding
from kb.model import OUT_OF_SCOPE
from retrieval.examples import ExampleMemory
from retrieval.pairs import join_context
from retrieval.retriever import Retriever
from retrieval.turn_cache import TurnVectors
from retrieval.variations import VariationIndex
from training.prediction import IntentClassifier


@dataclass
class Pipeline:
    classifier: IntentClassifier
    retriever: Retriever
    examples: ExampleMemory | None = None
    variations: VariationIndex | None = None  # template variations in embedding space (which one to send)
    top_k: int = 5
    name: str = "main"  # recorded on each Understanding: which pipeline read the message
    turns: TurnVectors = field(init=False)  # recent turns' vectors: each turn is encoded once

    def __post_init__(self) -> None:
        self.turns = TurnVectors(self.retriever.embedder)

    def understand(self, texts: Sequence[str], contexts: Sequence[Sequence[str]]) -> list[Understanding]:
        """The intent model and the retriever over a batch of messages (CPU-bound; call off the loop).

        ``contexts`` holds each message's previous turns (oldest first). The sentence encoder runs
        once over the messages and the earlier turns it has not seen (retrieval/turn_cache.py): the
        intent model's frozen head, the example memory and the template variations read the
        message's vector, and the retriever the message's and its earlier turns' vectors
        (retrieval/turnwise.py). The fine-tuned transformer, where there is one, is the only other
        model pass.
        """
        weights = self.retriever.turn_weights
        turns = self.turns.encode(texts, contexts, slots=len(weights) if weights else 1)
        vectors = turns[0]
        predictions = self.classifier.predict(texts, embeddings=vectors)
        if weights:
            retrieved = self.retriever.search_turns(turns, top_k=self.top_k)
        else:  # a retriever of joined texts (built with turn_weights=None): one more pass over them
            queries = vectors.copy()
            rows = [row for row, context in enumerate(contexts) if context]
            if rows:
                queries[rows] = self.retriever.embedder.encode([join_context(contexts[r], texts[r]) for r in rows])
            retrieved = self.retriever.search_vectors(queries, top_k=self.top_k)
        nearest = self.examples.nearest(vectors) if self.examples is not None else [None] * len(texts)
        variation_scores = self.variations.scores(vectors) if self.variations is not None else [{}] * len(texts)
        return [
            Understanding(
                p,
                tuple(r),
                n.similarity if n is not None else None,
                nearest_is_out_of_scope=n is not None and n.intent == OUT_OF_SCOPE,
                variation_scores=v,
                pipeline=self.name,
            )
            for p, r, n, v in zip(predictions, retrieved, nearest, variation_scores, strict=True)
        ]
