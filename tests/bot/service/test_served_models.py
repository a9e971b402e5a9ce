"""The demo build as served: ONNX models in int8 with fixed scales, one encoding per turn, no torch."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import numpy as np

MESSAGES = [
    "where is my order",
    "hi",
    "I want to send my boots back, they pinch at the heel and I have only worn them indoors",
    "do you ship to norway?",
    "asdf",
]


def test_a_message_is_understood_the_same_alone_or_batched_with_others(demo_brain: Any) -> None:
    classifier = demo_brain.classifier
    vectors = demo_brain.retriever.embedder.encode(MESSAGES)

    batched = classifier.probabilities(MESSAGES, embeddings=vectors)
    alone = np.vstack([classifier.probabilities([m], embeddings=vectors[i : i + 1]) for i, m in enumerate(MESSAGES)])
    understood = demo_brain.understand(MESSAGES)
    one_by_one = [demo_brain.understand([m])[0] for m in MESSAGES]

    np.testing.assert_allclose(batched, alone, atol=1e-6)
    for together, single in zip(understood, one_by_one, strict=True):
        assert together.prediction.top.intent == single.prediction.top.intent
        assert abs(together.prediction.top.probability - single.prediction.top.probability) < 1e-6
        assert [(r.reply, round(r.score, 5)) for r in together.retrieved] == [
            (r.reply, round(r.score, 5)) for r in single.retrieved
        ]


def test_the_build_serves_its_exported_models_without_torch(demo_build: Any) -> None:
    script = f"""
import json, sys
from pathlib import Path
from bot.service.brain import Brain
from kb.build import BuildInfo
from retrieval.embedder import MiniLMEmbedder
brain = Brain.load(BuildInfo.read(Path({str(demo_build.path)!r})), MiniLMEmbedder())
(first,) = brain.understand(["where is my order"])
brain.understand(["thanks"], [("where is my order", "Track it under Account > Orders.")])
print(json.dumps({{
    "loaded": sorted(m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules),
    "intent": first.prediction.top.intent,
    "encoder": type(brain.retriever.embedder).__name__,
    "classifier": type(brain.classifier.transformer).__name__,
    "turn_weights": brain.retriever.turn_weights,
}}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    served = json.loads(result.stdout.strip().splitlines()[-1])

    assert served["loaded"] == []
    assert served["encoder"] == "OnnxEmbedder"
    assert served["classifier"] == "OnnxIntentTransformer"
    assert served["turn_weights"] == [1.0, 1.0, 0.5]
    assert served["intent"] == "order_status"
