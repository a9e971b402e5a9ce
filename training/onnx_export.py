"""Export the KB's two transformers to ONNX at build time, from the local weights (never a hub).

* the frozen sentence encoder (all-MiniLM-L6-v2 with mean pooling and unit length, as
  sentence-transformers computes it), for retrieval, the example memory and the frozen head;
* the fine-tuned intent transformer (its logits).

Each is quantised to int8 with **fixed activation scales** measured on the KB's own texts
(static quantisation, QDQ), so that a message's result never depends on the other messages in
its batch, unlike dynamic quantisation, which takes each scale from the whole batch. Only the
matrix products with weights are quantised, per output channel; the feed-forward output
products stay in float32: all-MiniLM-L6-v2's GELU activations have outliers that int8 with
fixed scales cannot hold (on the demo's messages, int8 everywhere kept a cosine of only 0.93 to
the float32 vector on average, 0.72 at worst; without those 6 products 0.987 and 0.89). The
word-embedding table (30,522 x 384, two thirds of the weights) is stored in int8 too: a lookup,
not a product, so it costs nothing in accuracy and halves the memory a loaded model takes.
``quantization="float32"`` exports without quantising (the same vectors as PyTorch, to 5e-7).
Serving: retrieval/onnx_encoder.py, which explains the choice with its measurements.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bot.errors import TrainingError
from retrieval.onnx_encoder import META, MODEL, TOKENIZER, EncoderMeta, Output

logger = logging.getLogger(__name__)

Quantization = Literal["int8-static", "float32"]
CALIBRATION_TEXTS = 256  # texts whose activations set the fixed scales
CALIBRATION_LENGTH = 64  # calibration batches are padded to one length (the calibrator stacks them)
OPSET = 17
TABLE_SIZE = 1_000_000  # a Gather over a weight this large is the word-embedding table: stored in int8


RUNTIMES: dict[str, Quantization | None] = {"onnx-int8": "int8-static", "onnx-float32": "float32", "torch": None}


def quantization_of(runtime: str) -> Quantization | None:
    """``TrainingConfig.runtime`` -> how its ONNX export is quantised; None for "torch" (no export)."""
    if runtime not in RUNTIMES:
        raise TrainingError(f"unknown model runtime {runtime!r}; use one of {', '.join(RUNTIMES)}")
    return RUNTIMES[runtime]


def export_sentence_encoder(
    out: str | Path,
    *,
    calibration: Sequence[str],
    quantization: Quantization = "int8-static",
    max_length: int = 128,
) -> Path:
    """all-MiniLM-L6-v2 (from its pip package) as a unit-vector sentence encoder in ``out``."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from training.progress import quiet_library_progress
    from training.transformer import base_model_path

    quiet_library_progress()  # no "Loading weights" bar
    path = base_model_path()
    model = AutoModel.from_pretrained(str(path)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(path))

    class MeanPooled(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=1)

    dim = int(model.config.hidden_size)
    return _export(MeanPooled(model), tokenizer, out, "embedding", dim, calibration, quantization, max_length)


def export_classifier(
    model: Any,
    tokenizer: Any,
    out: str | Path,
    *,
    calibration: Sequence[str],
    quantization: Quantization,
    max_length: int,
) -> Path:
    """A fine-tuned sequence classifier (transformers) as a logits model in ``out``."""
    import torch

    class Logits(torch.nn.Module):
        def __init__(self, classifier: torch.nn.Module) -> None:
            super().__init__()
            self.classifier = classifier

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            logits: torch.Tensor = self.classifier(input_ids=input_ids, attention_mask=attention_mask).logits
            return logits

    labels = int(model.config.num_labels)
    return _export(Logits(model.eval()), tokenizer, out, "logits", labels, calibration, quantization, max_length)


def _export(
    module: Any,
    tokenizer: Any,
    out: str | Path,
    output: Output,
    dim: int,
    calibration: Sequence[str],
    quantization: Quantization,
    max_length: int,
) -> Path:
    import torch

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    sample = tokenizer(
        ["a short message", "and a slightly longer one to fix the shapes"], padding=True, return_tensors="pt"
    )
    with tempfile.TemporaryDirectory(prefix="deskmate-onnx-") as tmp:
        plain = Path(tmp) / "float32.onnx"
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            torch.onnx.export(
                module.cpu(),
                (sample["input_ids"], sample["attention_mask"]),
                str(plain),
                input_names=["input_ids", "attention_mask"],
                output_names=[output],
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}},
                opset_version=OPSET,
                dynamo=False,
            )
        texts = [t for t in dict.fromkeys(calibration) if t.strip()][:CALIBRATION_TEXTS]
        if quantization == "int8-static" and texts:
            _quantize(plain, folder / MODEL, tokenizer, texts, Path(tmp))
        else:
            shutil.copyfile(plain, folder / MODEL)
            quantization, texts = "float32", []
    tokenizer.backend_tokenizer.save(str(folder / TOKENIZER))
    meta = EncoderMeta(output, dim, max_length, quantization, len(texts))
    (folder / META).write_text(json.dumps(meta.to_dict(), indent=2), encoding="utf-8")
    return folder


def _quantize(plain: Path, target: Path, tokenizer: Any, texts: Sequence[str], tmp: Path) -> None:
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = tmp / "prepared.onnx"
    quant_pre_process(str(plain), str(prepared), skip_symbolic_shape=True)
    graph = onnx.load(str(prepared)).graph
    weights = {initializer.name: initializer for initializer in graph.initializer}
    products = [
        node.name
        for node in graph.node
        if node.op_type == "MatMul"
        and any(name in weights for name in node.input)
        and not _feed_forward_output(node.name)
    ]
    tables = [  # the word embeddings: the largest weights of all, looked up, never multiplied
        node.name
        for node in graph.node
        if node.op_type == "Gather"
        and any(_size(weights[name]) >= TABLE_SIZE for name in node.input if name in weights)
    ]
    encoded = tokenizer(list(texts), padding="max_length", truncation=True, max_length=CALIBRATION_LENGTH)

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self.rows = iter(range(len(texts)))

        def get_next(self) -> dict[str, np.ndarray[Any, np.dtype[np.int64]]] | None:
            row = next(self.rows, None)
            if row is None:
                return None
            return {
                "input_ids": np.array([encoded["input_ids"][row]], dtype=np.int64),
                "attention_mask": np.array([encoded["attention_mask"][row]], dtype=np.int64),
            }

    quantize_static(
        str(prepared),
        str(target),
        Reader(),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul", "Gather"],
        nodes_to_quantize=products + tables,
        calibrate_method=CalibrationMethod.MinMax,
    )


def _size(initializer: Any) -> int:
    size = 1
    for dim in initializer.dims:
        size *= int(dim)
    return size


def _feed_forward_output(node: str) -> bool:
    """The feed-forward block's output product of a BERT layer (``.../layer.N/output/dense/MatMul``)."""
    return "/output/dense/" in node and "/attention/" not in node
