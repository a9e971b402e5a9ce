"""A loaded KB build: the knowledge base, its pipelines (intent model, retriever), policy and composers.

Languages: each message's language is detected (retrieval/languages/detect.py). A KB built on the
multilingual encoder reads every language with its one pipeline. An English KB's main pipeline
reads English; a message in another language goes to its cross-lingual pipeline (kb/build.py),
whose intent model has its own calibrated threshold, hence its own policy. Replies are composed
in the conversation's language when the KB has texts in it (:meth:`Brain.composer_for`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.core.composer import Composer
from bot.core.entities import EntityExtractor
from bot.core.forms.reading import payload_intent
from bot.core.policy import Policy, PolicyConfig, Understanding
from bot.generation.faithfulness import FaithfulnessCheck
from bot.generation.guard import SupportCheck
from bot.service.pipeline import Pipeline
from kb.build import BuildInfo
from kb.languages.localized import in_language
from kb.loader import load_kb
from kb.masking import load_deidentifier
from kb.model import KnowledgeBase
from kb.rasa.files import deskmate_name
from retrieval.embedder import Embedder
from retrieval.examples import ExampleMemory
from retrieval.languages.detect import LanguageDetector
from retrieval.languages.multilingual import NAME as MULTILINGUAL
from retrieval.languages.multilingual import MultilingualEmbedder
from retrieval.onnx_encoder import OnnxEmbedder
from retrieval.privacy.masking import Deidentifier
from retrieval.retriever import Retriever
from retrieval.turn_cache import TurnVectors
from retrieval.variations import VariationIndex
from training.intent_model import IntentModel
from training.prediction import IntentClassifier, rank

logger = logging.getLogger(__name__)

ENCODER = "encoder"  # a build's sentence encoder folder, as kb/build.py writes it
CROSSLINGUAL = "crosslingual"  # an English build's pipeline for other languages (kb/build.py)


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
    # the languages the main pipeline reads; None: any (the multilingual encoder)
    reads: tuple[str, ...] | None = ("en",)
    crosslingual: Pipeline | None = None  # reads the messages in other languages
    crosslingual_policy: Policy | None = None
    detector: LanguageDetector = field(default_factory=LanguageDetector)
    main: Pipeline = field(init=False)
    turns: TurnVectors = field(init=False)  # recent turns' vectors: each turn is encoded once
    _composers: dict[str, Composer] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.main = Pipeline(self.classifier, self.retriever, self.examples, self.variations, self.top_k)
        self.turns = self.main.turns

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
        reads: tuple[str, ...] | None = ("en",),
        crosslingual: Pipeline | None = None,
    ) -> Brain:
        """The parts wired together; ``variations`` is embedded here unless given (a build saves it).

        ``reads``: the languages the main pipeline reads (None: any); ``crosslingual`` reads the others.
        """

        def policy_of(model: IntentClassifier) -> Policy:
            return Policy(
                policy_config,
                handoff_intents=[i.name for i in kb.intents if i.handoff],
                action_intents=[i.name for i in kb.intents if i.action or i.form],  # a form ends in an action
                model_threshold=getattr(model, "threshold", None),
            )

        policy = policy_of(classifier)
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
            reads=reads,
            crosslingual=crosslingual,
            crosslingual_policy=policy_of(crosslingual.classifier) if crosslingual is not None else None,
        )

    @classmethod
    def load(
        cls, build: BuildInfo, embedder: Embedder, *, policy_config: PolicyConfig | None = None, int8: bool = False
    ) -> Brain:
        folder = Path(build.path)
        multilingual = build.encoder == MULTILINGUAL
        if multilingual:
            embedder = MultilingualEmbedder()
        elif (folder / ENCODER).is_dir():  # the build's exported sentence encoder (kb/build.py)
            embedder = OnnxEmbedder(folder / ENCODER)
        kb = load_kb(folder / "kb")
        classifier = IntentModel.load(folder / "classifier", embedder, int8=int8)
        retriever = Retriever.load(folder / "retriever", embedder)
        examples = ExampleMemory.load(folder / "examples")
        crosslingual = None
        if (folder / CROSSLINGUAL).is_dir():
            crosslingual = load_pipeline(folder / CROSSLINGUAL, MultilingualEmbedder(), name=CROSSLINGUAL)
        if isinstance(embedder, MultilingualEmbedder):
            embedder.warm()  # loaded now, not on the first customer's message
        # An English build's cross-lingual encoder loads on its first message in another language
        # (about 1.5 s, once): an English-only server neither waits for it nor holds its ~190 MB.
        logger.info("loaded build %s (%d intents, %d past replies)", build.id, len(kb.intents), len(retriever.pairs))
        brain = cls.assemble(
            kb,
            classifier,
            retriever,
            examples=examples,
            policy_config=policy_config,
            build_id=build.id,
            variations=VariationIndex.load(folder / "variations"),
            reads=None if multilingual else ("en",),
            crosslingual=crosslingual,
        )
        # the language detector (0.8 s) loads beside the server's start; a first message waits for it
        threading.Thread(target=brain.detector.warm, name="language-detector", daemon=True).start()
        return brain

    def understand(
        self,
        texts: Sequence[str],
        contexts: Sequence[Sequence[str]] | None = None,
        languages: Sequence[str | None] | None = None,
    ) -> list[Understanding]:
        """What the models make of a batch of messages (CPU-bound; call off the loop).

        ``contexts`` holds each message's previous turns (oldest first), ``languages`` each one's
        language where known (:meth:`language_of`). A message in a language the main pipeline does
        not read goes to the cross-lingual pipeline when the build has one (bot/service/pipeline.py);
        one whose language is unknown ("hola", "ok": the conversation's is passed when it has one)
        is read by the main pipeline.
        """
        if not texts:
            return []
        if contexts is not None and len(contexts) != len(texts):
            raise ValueError(f"{len(contexts)} contexts for {len(texts)} messages; pass one per message")
        contexts = contexts if contexts is not None else [()] * len(texts)
        languages = languages if languages is not None else [None] * len(texts)
        groups: dict[str, list[int]] = {}
        for row, language in enumerate(languages):
            groups.setdefault(self._pipeline_for(language).name, []).append(row)
        results: list[Understanding | None] = [None] * len(texts)
        for name, rows in groups.items():
            pipeline = self.crosslingual if name == CROSSLINGUAL and self.crosslingual is not None else self.main
            understood = pipeline.understand([texts[r] for r in rows], [contexts[r] for r in rows])
            for row, understanding in zip(rows, understood, strict=True):
                results[row] = self._payload(texts[row], understanding)
        return [r for r in results if r is not None]

    def _pipeline_for(self, language: str | None) -> Pipeline:
        if self.crosslingual is None or self.reads is None or language is None or language in self.reads:
            return self.main
        return self.crosslingual

    def language_of(self, text: str) -> str | None:
        """The language ``text`` is written in (ISO 639-1), None when it does not say."""
        return self.detector.detect(text)

    def policy_for(self, understanding: Understanding | None) -> Policy:
        """The policy of the pipeline that read the message: each has its intent model's threshold."""
        if understanding is not None and understanding.pipeline == CROSSLINGUAL and self.crosslingual_policy:
            return self.crosslingual_policy
        return self.policy

    def reply_language(self, language: str | None) -> str:
        """The language to answer in: the customer's when the KB has texts in it, else the KB's own."""
        return language if language in self.kb.languages else self.kb.language

    def composer_for(self, language: str | None) -> Composer:
        """The composer of the KB's texts in :meth:`reply_language` of ``language``."""
        chosen = self.reply_language(language)
        if chosen == self.kb.language:
            return self.composer
        if chosen not in self._composers:
            self._composers[chosen] = Composer(in_language(self.kb, chosen))
        return self._composers[chosen]

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


def load_pipeline(folder: Path, embedder: Embedder, *, name: str) -> Pipeline:
    """A pipeline saved by kb/build.py's ``embedded_parts`` with its classifier, read with ``embedder``."""
    return Pipeline(
        IntentModel.load(folder / "classifier", embedder),
        Retriever.load(folder / "retriever", embedder),
        ExampleMemory.load(folder / "examples"),
        VariationIndex.load(folder / "variations"),
        name=name,
    )
