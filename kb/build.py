"""Turn a KB folder into an immutable, versioned build.

A build folder holds::

    manifest.json   id, KB name, hashes, creation time, training options
    kb/             a copy of the KB source files it was built from
    encoder/        the sentence encoder exported to ONNX (see training/onnx_export.py)
    classifier/     the intent model (see training/intent_model.py)
    examples/       the intents' examples in embedding space (see retrieval/examples.py)
    variations/     the responses' variations in embedding space (see retrieval/variations.py)
    retriever/      FAISS index, turn by turn, and the (customer turn -> agent reply) pairs, de-identified
    crosslingual/   an English KB's path for customers writing other languages: classifier/, examples/,
                    variations/ and retriever/ again, on the multilingual encoder (retrieval/languages/multilingual.py)

Builds are written to a temporary folder and renamed into place, so a half-written build is
never seen. The classifier is reused from an earlier build when the intents did not change, with
the encoder its head was fitted on.

The sentence encoder is exported first, its int8 scales calibrated on the KB's examples, and
everything else is embedded with it, so the vectors in the build are those the server computes.
A build made with a test embedder (not MiniLM), or with ``TrainingConfig.runtime`` "torch", has
no ``encoder/``: it serves with the embedder it is given.

Languages (kb.yml ``language:`` / ``languages:``): a KB in English alone is built as above, on
MiniLM with its fine-tuned transformer, plus ``crosslingual/``. Any other KB is built on the
multilingual encoder, whose vectors are the same for a question in any of its languages: the
intent model is its embedding head with the character n-gram head (no transformer: MiniLM's
tokenizer reads Chinese as unknown tokens), and the manifest's ``encoder`` says so. Why English
KBs keep MiniLM: on BANKING77 the multilingual pipeline is several points less accurate in English
(``deskmate bench intents``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.errors import BuildNotFoundError
from kb.loader import FILES, load_kb
from kb.masking import load_deidentifier, read_masking_settings
from kb.model import KnowledgeBase
from kb.placeholders import escape
from retrieval.embedder import Embedder, MiniLMEmbedder
from retrieval.examples import ExampleMemory
from retrieval.languages.multilingual import NAME as MULTILINGUAL
from retrieval.languages.multilingual import MultilingualEmbedder
from retrieval.onnx_encoder import OnnxEmbedder
from retrieval.pairs import Pair, deduplicate, dialogue_pairs, marked
from retrieval.privacy.masking import Deidentifier
from retrieval.retriever import Retriever
from retrieval.variations import VariationIndex
from training.config import TrainingConfig
from training.data import IntentData
from training.intent_model import train_heads_model, train_intent_model

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
BUILD_FORMAT = 7  # bump when the build layout changes, so old builds are not reused
ENCODER = "encoder"
CROSSLINGUAL = "crosslingual"


@dataclass(frozen=True)
class BuildInfo:
    id: str
    path: Path
    kb_name: str
    content_hash: str
    training_hash: str
    created_at: float
    masked: dict[str, int] = field(default_factory=dict)  # personal values de-identified in the pairs, by kind
    replies: dict[str, int] = field(default_factory=dict)  # past replies: general, case_specific, persona
    encoder: str | None = None  # the sentence encoder by name when it is not MiniLM (the multilingual one)

    @classmethod
    def read(cls, folder: Path) -> BuildInfo:
        manifest = folder / MANIFEST
        if not manifest.is_file():
            raise BuildNotFoundError(f"{folder} is not a KB build (no {MANIFEST}); run `deskmate kb build`")
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return cls(
            id=data["id"],
            path=folder,
            kb_name=data["kb_name"],
            content_hash=data["content_hash"],
            training_hash=data["training_hash"],
            created_at=data["created_at"],
            masked=data.get("masked", {}),
            replies=data.get("replies", {}),
            encoder=data.get("encoder"),
        )


def kb_pairs(
    kb: KnowledgeBase,
    *,
    context_turns: int = 2,
    deidentifier: Deidentifier | None = None,
    masked: Counter[str] | None = None,
) -> list[Pair]:
    """Retrieval pairs from the KB's historical dialogues, FAQ entries and approved pairs, duplicates collapsed.

    Dialogue turns and approved pairs are de-identified first, each dialogue's turns together
    (``deidentifier``, default: the KB's, :func:`~kb.masking.load_deidentifier`); FAQ
    entries are the KB's own text and stay. ``masked``, when given, counts the values replaced.
    Then every reply is marked case-specific or persona (:func:`~retrieval.pairs.marked`): only
    general ones may be sent by the bot itself.
    """
    deidentifier = deidentifier or load_deidentifier(kb.root, kb)
    counts = masked if masked is not None else Counter()

    def clean(texts: list[str]) -> list[str]:
        results = deidentifier.deidentify_all(texts)
        for result in results:
            counts.update(result.counts)
        return [result.text for result in results]

    pairs: list[Pair] = []
    for dialogue in kb.dialogues:
        texts = clean([t.text for t in dialogue.turns])
        turns = [(t.speaker, text) for t, text in zip(dialogue.turns, texts, strict=True)]
        pairs.extend(dialogue_pairs(dialogue.id, turns, context_turns=context_turns))
    for number, entry in enumerate(kb.faq, start=1):
        # the KB's own words, not a template: a brace in an answer is literal text
        pairs.append(Pair(entry.question, entry.question, escape(entry.answer), f"faq:{number}"))
    for approved in kb.approved:
        question, answer = clean([approved.question, approved.answer])
        pairs.append(Pair(question, question, answer, f"approved:{approved.id}"))
    return marked(deduplicate(pairs))


def build_id(kb: KnowledgeBase, config: TrainingConfig) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", kb.name.lower()).strip("-") or "kb"
    entity_kinds = [e.name for e in kb.entities if e.pattern is not None]
    masking = asdict(read_masking_settings(kb.root, entity_kinds=entity_kinds)) if kb.root is not None else {}
    options = {"format": BUILD_FORMAT, "training": config.to_dict(), "masking": masking}
    config_hash = hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()
    return f"{slug}-{kb.content_hash()[:10]}{config_hash[:4]}"


def find_build(builds_dir: Path, build: str) -> BuildInfo | None:
    """The complete build ``build`` of this format; None when there is none (see :func:`list_builds`)."""
    folder = builds_dir / build
    return BuildInfo.read(folder) if _current(folder) else None


def list_builds(builds_dir: Path) -> list[BuildInfo]:
    """Complete builds of this format in ``builds_dir``, oldest first.

    A build of an older format is never served (a format-4 build holds past replies that were
    neither de-identified nor marked case-specific): a start or a reload builds the KB anew.
    """
    if not builds_dir.is_dir():
        return []
    builds = [
        BuildInfo.read(p)
        for p in builds_dir.iterdir()
        if not p.name.startswith(".") and _current(p)  # dot-folders: builds still being made
    ]
    return sorted(builds, key=lambda b: b.created_at)


def _current(folder: Path) -> bool:
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return False
    try:
        return bool(json.loads(manifest.read_text(encoding="utf-8")).get("format") == BUILD_FORMAT)
    except (OSError, ValueError):
        return False


def _reusable_classifier(builds_dir: Path, training_hash: str, config: TrainingConfig) -> Path | None:
    for info in reversed(list_builds(builds_dir)):
        manifest = json.loads((info.path / MANIFEST).read_text(encoding="utf-8"))
        same = manifest.get("training") == config.to_dict() and manifest.get("format") == BUILD_FORMAT
        if info.training_hash == training_hash and same:
            return info.path / "classifier"
    return None


def build_kb(
    source: str | Path,
    builds_dir: str | Path,
    *,
    embedder: Embedder,
    config: TrainingConfig | None = None,
    progress: bool = True,
) -> BuildInfo:
    """Validate the KB at ``source`` and build it into ``builds_dir`` (or reuse an identical build)."""
    config = config or TrainingConfig()
    kb = load_kb(source)
    builds = Path(builds_dir)
    builds.mkdir(parents=True, exist_ok=True)
    identifier = build_id(kb, config)
    existing = find_build(builds, identifier)
    if existing is not None:
        logger.info("build %s is up to date", identifier)
        return existing

    # unique even across containers sharing the folder (their pids repeat)
    temp = Path(tempfile.mkdtemp(prefix=f".tmp-{identifier}-", dir=builds))
    try:
        (temp / "kb").mkdir(parents=True)
        assert kb.root is not None
        for name in FILES:
            if (kb.root / name).is_file():
                shutil.copy2(kb.root / name, temp / "kb" / name)

        training_hash = kb.training_hash()
        multilingual = kb.languages != ("en",) and isinstance(embedder, MiniLMEmbedder)
        reuse = None if multilingual else _reusable_classifier(builds, training_hash, config)
        if multilingual:  # trains in seconds: never reused
            embedder = MultilingualEmbedder()
            texts, labels = kb.training_examples()
            train_heads_model(IntentData(texts, labels), embedder, config=config).save(temp / "classifier")
        elif reuse is not None:
            logger.info("reusing the intent model of %s (intents unchanged)", reuse.parent.name)
            shutil.copytree(reuse, temp / "classifier")
            if (reuse.parent / ENCODER).is_dir():
                shutil.copytree(reuse.parent / ENCODER, temp / ENCODER)
                embedder = OnnxEmbedder(temp / ENCODER)
        else:
            texts, labels = kb.training_examples()
            if isinstance(embedder, MiniLMEmbedder) and config.runtime != "torch":
                embedder = export_encoder(temp / ENCODER, calibration=texts, runtime=config.runtime)
            model = train_intent_model(
                IntentData(texts, labels),
                embedder,
                config=config,
                progress=progress,
                metadata={"training_hash": training_hash},
                export_to=temp / "classifier" / "transformer",
            )
            model.save(temp / "classifier")

        masked: Counter[str] = Counter()
        pairs = kb_pairs(kb, masked=masked)
        embedded_parts(temp, kb, embedder, pairs)
        if isinstance(embedder, OnnxEmbedder):  # a real English build: customers in other languages too
            crosslingual = MultilingualEmbedder()
            texts, labels = kb.training_examples()
            model = train_heads_model(IntentData(texts, labels), crosslingual, config=config, lexical=False)
            model.save(temp / CROSSLINGUAL / "classifier")
            embedded_parts(temp / CROSSLINGUAL, kb, crosslingual, pairs)
        replies = {
            "general": sum(not (p.case_specific or p.persona) for p in pairs),
            "case_specific": sum(p.case_specific for p in pairs),
            "persona": sum(p.persona for p in pairs),
        }
        manifest = {
            "id": identifier,
            "kb_name": kb.name,
            "content_hash": kb.content_hash(),
            "training_hash": training_hash,
            "created_at": time.time(),
            "training": config.to_dict(),
            "format": BUILD_FORMAT,
            "languages": list(kb.languages),
            "encoder": MULTILINGUAL if multilingual else None,  # None: MiniLM (encoder/) or the embedder given
            "masked": dict(sorted(masked.items())),
            "replies": replies,
        }
        (temp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        final = builds / identifier
        if final.exists():  # another process finished the same build first
            shutil.rmtree(temp, ignore_errors=True)
        else:
            os.replace(temp, final)
        return BuildInfo.read(final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def embedded_parts(folder: Path, kb: KnowledgeBase, embedder: Embedder, pairs: list[Pair]) -> None:
    """What is fitted on ``embedder``'s vectors besides the classifier: the retriever over ``pairs``,
    the in-scope examples and the template variations, saved into ``folder``."""
    Retriever.build(embedder, pairs).save(folder / "retriever")
    texts, labels = kb.scope_examples()
    ExampleMemory.build(embedder, texts, labels).save(folder / "examples")
    VariationIndex.build(embedder, kb.template_texts()).save(folder / "variations")


def export_encoder(folder: Path, *, calibration: list[str], runtime: str) -> OnnxEmbedder:
    """The sentence encoder exported into ``folder`` (int8 scales from ``calibration``), loaded."""
    from training.onnx_export import export_sentence_encoder, quantization_of

    export_sentence_encoder(folder, calibration=calibration, quantization=quantization_of(runtime) or "float32")
    return OnnxEmbedder(folder)
