"""retrieval.onnx_encoder with a real export (training/onnx_export.py): int8 with fixed scales."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.errors import ModelNotFoundError
from retrieval.onnx_encoder import META, OnnxEmbedder

CALIBRATION = [
    "where is my order",
    "I want to return my boots, they are too small",
    "do you ship to ireland?",
    "my parcel says delivered but nothing came",
    "can I change the delivery address on order PO-4471",
    "hello",
    "what are your opening hours on bank holidays",
    "the zip on my jacket broke after two weeks, can I get a refund or a replacement",
]
MESSAGES = [
    "hi",
    "my order has not arrived yet and it has been ten days since I paid",
    "refund please",
    "do you sell gift cards?",
    "the tent pole snapped on the first night",
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.onnx_export import export_sentence_encoder

    return export_sentence_encoder(tmp_path_factory.mktemp("encoder"), calibration=CALIBRATION)


def test_a_message_gets_the_same_vector_alone_or_in_any_batch(exported: Path) -> None:
    embedder = OnnxEmbedder(exported)

    batched = embedder.encode(MESSAGES)
    alone = np.stack([embedder.encode([m])[0] for m in MESSAGES])
    reordered = embedder.encode(list(reversed(MESSAGES)))[::-1]

    np.testing.assert_allclose(batched, alone, atol=1e-6)
    np.testing.assert_allclose(batched, reordered, atol=1e-6)


def test_int8_vectors_stay_close_to_the_float32_model(exported: Path) -> None:
    from retrieval.embedder import MiniLMEmbedder

    reference = MiniLMEmbedder().encode(MESSAGES)
    vectors = OnnxEmbedder(exported).encode(MESSAGES)

    assert json.loads((exported / META).read_text())["quantization"] == "int8-static"
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() > 0.85
    # each message is still nearest to itself among the float32 vectors
    assert ((vectors @ reference.T).argmax(axis=1) == np.arange(len(MESSAGES))).all()


def test_serving_an_export_imports_no_torch(exported: Path) -> None:
    script = (
        "import sys; from retrieval.onnx_encoder import OnnxEmbedder; "
        f"OnnxEmbedder({str(exported)!r}).encode(['hello']); "
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"


def test_a_missing_export_says_to_rebuild(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="deskmate kb build"):
        OnnxEmbedder(tmp_path)
