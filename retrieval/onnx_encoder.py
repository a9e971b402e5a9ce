"""A transformer exported to ONNX (training/onnx_export.py), run with ONNX Runtime: no torch at serving time.

Why ONNX Runtime, int8 with fixed scales (measured on this 2-core CPU, the demo's 480 example
messages, all-MiniLM-L6-v2, 2 threads, messages per second at batch 1 / 8 / 64):

* PyTorch (sentence-transformers): 157 / 462 / 515;
* ONNX Runtime, float32: 456 / 599 / 545 (the same vectors to 5e-7);
* ONNX Runtime, int8 with activation scales calibrated at build time (static, QDQ): 654 / 867 / 797;
* ONNX Runtime, int8 dynamic quantisation: 805 / 1048 / 984, but each activation's scale is taken
  from the whole batch, so a message's vector would depend on the messages batched with it.

Static int8 keeps every message's result independent of its batch (each row's integer products
are exact; tests/retrieval/test_onnx_encoder.py checks it) at 1.6x PyTorch's best batch, and
loading it imports neither torch nor transformers, so a server starts in about a second.

A folder holds ``model.onnx``, ``tokenizer.json`` and ``encoder.json``: what the model outputs
(``embedding``: unit sentence vectors, or ``logits``), the token limit and how it was quantised.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bot.errors import ModelNotFoundError
from retrieval.search import Vectors, normalize

MODEL = "model.onnx"
TOKENIZER = "tokenizer.json"
META = "encoder.json"
Output = Literal["embedding", "logits"]


@dataclass(frozen=True)
class EncoderMeta:
    output: Output
    dim: int  # the embedding's dimension, or the number of logits
    max_length: int  # tokens; longer texts are truncated
    quantization: str  # "int8-static" or "float32"
    calibration_texts: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "dim": self.dim,
            "max_length": self.max_length,
            "quantization": self.quantization,
            "calibration_texts": self.calibration_texts,
        }


def threads() -> int:
    """Intra-op threads: ``DESKMATE_MODEL_THREADS``, else the CPUs this process may use (at most 4)."""
    configured = os.environ.get("DESKMATE_MODEL_THREADS")
    if configured:
        return max(1, int(configured))
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(4, available))


class OnnxEncoder:
    """Texts in, one row per text out (``embedding`` or ``logits``), in groups of similar length."""

    def __init__(self, folder: str | Path, *, chunk: int = 8) -> None:
        path = Path(folder)
        if not all((path / name).is_file() for name in (MODEL, TOKENIZER, META)):
            raise ModelNotFoundError(
                f"no exported encoder in {path} (it needs {MODEL}, {TOKENIZER} and {META}); rebuild the KB with "
                "`deskmate kb build`"
            )
        import onnxruntime as ort
        from tokenizers import Tokenizer

        raw = json.loads((path / META).read_text(encoding="utf-8"))
        self.meta = EncoderMeta(**raw)
        self.folder = path
        self.chunk = chunk
        self._tokenizer = Tokenizer.from_file(str(path / TOKENIZER))
        self._tokenizer.enable_truncation(max_length=self.meta.max_length)
        self._tokenizer.no_padding()
        self._pad_id = self._tokenizer.token_to_id("[PAD]") or 0
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.enable_cpu_mem_arena = False  # an idle server gives its batch buffers back
        # no busy-waiting between batches: the event loop, the other model and other processes need the CPU
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path / MODEL), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        # the tokenizer is not reentrant ("Already borrowed"): serving and a background build share it
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.meta.dim

    def run(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """One row per text. Texts are run in groups of similar length, ``chunk`` at a time, so that
        little of a group is padding: on the demo's messages 8 at a time is 1.4x faster than 32 of
        mixed lengths (``deskmate bench load``'s ceiling). With fixed int8 scales a text's row does
        not depend on the texts grouped with it."""
        if not texts:
            return np.zeros((0, self.meta.dim), dtype=np.float32)
        with self._lock:
            encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        result = np.empty((len(texts), self.meta.dim), dtype=np.float32)
        for start in range(0, len(order), self.chunk):
            rows = order[start : start + self.chunk]
            result[rows] = self._batch([encodings[i].ids for i in rows])
        return result

    def _batch(self, token_ids: list[list[int]]) -> np.ndarray[Any, np.dtype[np.float32]]:
        width = max(len(ids) for ids in token_ids)
        ids = np.full((len(token_ids), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(token_ids), width), dtype=np.int64)
        for row, tokens in enumerate(token_ids):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        output: np.ndarray[Any, np.dtype[np.float32]] = self._session.run(None, feed)[0]
        return output


class OnnxEmbedder:
    """The :class:`retrieval.embedder.Embedder` of an exported sentence encoder: unit vectors."""

    def __init__(self, folder: str | Path) -> None:
        self.encoder = OnnxEncoder(folder)
        if self.encoder.meta.output != "embedding":
            raise ModelNotFoundError(f"{folder} holds a {self.encoder.meta.output} model, not a sentence encoder")

    @property
    def dim(self) -> int:
        return self.encoder.dim

    def encode(self, texts: Sequence[str]) -> Vectors:
        return normalize(self.encoder.run(texts))
