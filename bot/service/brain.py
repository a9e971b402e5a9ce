"""A loaded KB build: the knowledge base, its intent model, its retriever, policy and composer."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.core.composer import Composer
from bot.core.entities import EntityExtractor
from bot.core.forms.reading import payload_intent
from bot.core.policy import Policy, PolicyConfig, Understanding
from bot.generation.faithfulness import FaithfulnessCheck
from bot.generation.guard import SupportCheck
from kb.build import BuildInfo
from kb.loader import load_kb
from kb.masking import load_deidentifier
from kb.model import OUT_OF_SCOPE, KnowledgeBase
from kb.rasa.files import deskmate_name
from retrieval.embedder import Embedder
from retrieval.examples import ExampleMemory
from retrieval.onnx_encoder import OnnxEmbedder
from retrieval.pairs import join_context
from retrieval.privacy.masking import Deidentifier
from retrieval.retriever import Retriever
from retrieval.turn_cache import TurnVectors
from retrieval.variations import VariationIndex
from training.intent_model import IntentModel
from training.prediction import IntentClassifier, rank

logger = logging.getLogger(__name__)

ENCODER = "encoder"  # a build's sentence encoder folder, as kb/build.py writes it


@dataclass
class Brain:
    kb: KnowledgeBase
    classifier: IntentClassifier
    retriever: Retriever
    policy: Policy
    composer: Composer
    build_id: str
    examples: ExampleMemory | None = None
    top_k: int = 5
    extractor: EntityExtractor = field(default_factory=lambda: EntityExtractor(()))
    variations: VariationIndex | None = None  # template variations in embedding space (which one to send)
    deidentifier: Deidentifier | None = None  # the KB's de-identifier: personal values in generated text
    faithfulness: SupportCheck | None = None  # checks generated sentences against their passages
    turns: TurnVectors = field(init=False)  # recent turns' vectors: each turn is encoded once

    def __post_init__(self) -> None:
        self.turns = TurnVectors(self.retriever.embedder)

    @classmethod
    def assemble(
        cls,
        kb: KnowledgeBase,
        classifier: IntentClassifier,
        retriever: Retriever,
        *,
        examples: ExampleMemory | None = None,
        policy_config: PolicyConfig | None = None,
        build_id: str = "in-memory",
        variations: VariationIndex | None = None,
    ) -> Brain:
        """The parts wired together; ``variations`` is embedded here unless given (a build saves it)."""
        threshold = getattr(classifier, "threshold", None)
        policy = Policy(
            policy_config,
            handoff_intents=[i.name for i in kb.intents if i.handoff],
            action_intents=[i.name for i in kb.intents if i.action or i.form],  # a form ends in an action
            model_threshold=threshold,
        )
        if variations is None:
            variations = VariationIndex.build(retriever.embedder, kb.template_texts())
        return cls(
            kb,
            classifier,
            retriever,
            policy,
            Composer(kb),
            build_id,
            examples,
            extractor=EntityExtractor(kb.entities),
            variations=variations,
            deidentifier=load_deidentifier(kb.root, kb),
            faithfulness=FaithfulnessCheck(retriever.embedder, allowed_terms=kb.name.split()),
        )

    @classmethod
    def load(
        cls, build: BuildInfo, embedder: Embedder, *, policy_config: PolicyConfig | None = None, int8: bool = False
    ) -> Brain:
        folder = Path(build.path)
        if (folder / ENCODER).is_dir():  # the build's exported sentence encoder (kb/build.py)
            embedder = OnnxEmbedder(folder / ENCODER)
        kb = load_kb(folder / "kb")
        classifier = IntentModel.load(folder / "classifier", embedder, int8=int8)
        retriever = Retriever.load(folder / "retriever", embedder)
        examples = ExampleMemory.load(folder / "examples")
        logger.info("loaded build %s (%d intents, %d past replies)", build.id, len(kb.intents), len(retriever.pairs))
        return cls.assemble(
            kb,
            classifier,
            retriever,
            examples=examples,
            policy_config=policy_config,
            build_id=build.id,
            variations=VariationIndex.load(folder / "variations"),
        )

    def understand(self, texts: Sequence[str], contexts: Sequence[Sequence[str]] | None = None) -> list[Understanding]:
        """Run the intent model and the retriever over a batch of messages (CPU-bound; call off the loop).

        ``contexts`` holds each message's previous turns (oldest first). The sentence encoder runs
        once over the messages and the earlier turns it has not seen (retrieval/turn_cache.py): the
        intent model's frozen head, the example memory and the template variations read the
        message's vector, and the retriever the message's and its earlier turns' vectors
        (retrieval/turnwise.py). The fine-tuned transformer is the only other model pass.
        """
        if not texts:
            return []
        if contexts is not None and len(contexts) != len(texts):
            raise ValueError(f"{len(contexts)} contexts for {len(texts)} messages; pass one per message")
        contexts = contexts if contexts is not None else [()] * len(texts)
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
        understood = [
            Understanding(
                p,
                tuple(r),
                n.similarity if n is not None else None,
                nearest_is_out_of_scope=n is not None and n.intent == OUT_OF_SCOPE,
                variation_scores=v,
            )
            for p, r, n, v in zip(predictions, retrieved, nearest, variation_scores, strict=True)
        ]
        return [self._payload(text, u) for text, u in zip(texts, understood, strict=True)]

    def _payload(self, text: str, understanding: Understanding) -> Understanding:
        """A Rasa button payload sent as text (``/affirm``, ``/inform{"topic": "x"}``) names its intent:
        as Rasa reads it, that intent with certainty (its values are read by forms, bot/core/forms/reading.py)."""
        intent = payload_intent(text)
        if intent is None:
            return understanding
        name = deskmate_name(intent) if intent not in self.kb.intent_names else intent
        if name not in self.kb.intent_names:
            return understanding
        others = [s.intent for s in understanding.prediction.ranking if s.intent != name]
        prediction = rank([name, *others], [1.0, *([0.0] * len(others))])
        return replace(understanding, prediction=prediction, example_similarity=1.0, nearest_is_out_of_scope=False)
