"""``deskmate bench load``: concurrent websocket customers against a chat server, beside a floor and a ceiling.

Four phases, one after the other so that they never compete for the CPU:

1. **floor** - one bare all-MiniLM-L6-v2 pass (sentence-transformers on plain PyTorch) over the
   very messages the customers will send, texts alone, at a few batch sizes
   (:mod:`bot.bench.load_floor`): what a message costs at the least, whatever a server does.
2. **ceiling** - the KB build the server serves is loaded here (``Brain.load``, as ``deskmate
   serve`` does) and ``Brain.understand`` is timed on batches of the very messages the customers
   will send, each with the context the server gives it (the customer's previous message and the
   bot's reply), at a few batch sizes. The best median rate is the most Deskmate's pipeline could
   answer on this machine: the server's own work (frames, store, policy) comes on top.
3. **server** - unless a ``url`` is given, ``deskmate serve`` runs as a subprocess on a free
   loopback port over a fresh SQLite file in a temporary folder, serving the existing build of
   ``data_dir`` (nothing is trained when one exists), with the abuse limits raised so that one
   address may open every connection and send as fast as it likes (:mod:`bot.bench.load_server`).
4. **load** - every customer connects and says hello; then all start together and each sends its
   messages one after another, waiting for the bot's answer (reply, clarify or handoff) to one
   before sending the next (a closed loop), pausing ``think`` seconds between them. With a
   ``rate``, the open loop instead (:mod:`bot.bench.load_open`): arrivals at that rate for
   ``duration`` seconds, each handed to a customer not waiting for an answer.

Latency runs from sending a message to receiving its answer. A message is *lost* when it is not
acknowledged or not answered within ``timeout``; *errors* count error frames and failed
connections; *unsent* messages belong to customers whose connection failed. Throughput is the
answered messages over the wall time of the load phase (connecting excluded); it is printed as a
fraction of the floor and of the ceiling, and the server's CPU time per answer beside the floor's
CPU time per message.

The messages are the KB's own example phrasings of the intents the bot answers from a template
(no handoff intent, no custom action, no form), kept only when the loaded model answers them confidently,
so every turn costs the same model pass and no conversation is handed to a person. Should one be
handed off anyway, its answer counts and the customer starts a new conversation for the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import math
import os
import platform
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.bench.load_clients import LoadResult, run_load
from bot.bench.load_floor import FLOOR_BATCHES, FloorResult, evenly_spaced, measure_floor
from bot.bench.load_open import run_open_load
from bot.bench.load_server import healthz, launched_server, process_cpu_seconds
from bot.core.policy import Action, TurnContext
from bot.errors import BuildNotFoundError, ConfigError, DeskmateError
from bot.ops.config import Settings
from bot.service.brain import Brain
from kb.build import BuildInfo, find_build
from retrieval.embedder import Embedder

logger = logging.getLogger(__name__)

CEILING_BATCHES = (8, 32, 64)


@dataclass(frozen=True)
class CeilingResult:
    """Deskmate's pipeline (``Brain.understand``): messages per second, median of ``repeats`` runs per batch size."""

    messages: int
    repeats: int
    by_batch: dict[int, float]
    best_batch: int
    messages_per_s: float


@dataclass(frozen=True)
class Workload:
    """What each customer says (``scripts[c]``), and the same messages with their server-side context."""

    scripts: list[list[str]]
    replies: dict[str, str]  # message -> the bot's template reply (the next message's context)

    def with_context(self) -> list[tuple[str, tuple[str, ...]]]:
        """Every message with the turns before it (as the conversation gives them to the models), in the
        order a closed loop sends them: every customer's first message, then every second one..."""
        items: list[tuple[str, tuple[str, ...]]] = []
        for index in range(max(map(len, self.scripts), default=0)):
            for script in self.scripts:
                if index < len(script):
                    previous = script[index - 1] if index else None  # the greeting is never context
                    items.append((script[index], (previous, self.replies[previous]) if previous else ()))
        return items


def answerable_messages(brain: Brain) -> dict[str, str]:
    """The KB examples the bot answers with their own intent's template: message -> reply text."""
    candidates = [
        (intent.name, text)
        for intent in brain.kb.intents
        if not intent.handoff and intent.action is None and intent.form is None
        for text in intent.examples
    ]
    understood = []
    for start in range(0, len(candidates), 64):
        understood += brain.understand([text for _, text in candidates[start : start + 64]])
    replies: dict[str, str] = {}
    for (intent, text), understanding in zip(candidates, understood, strict=True):
        decision = brain.policy.decide(text, understanding, TurnContext())
        if decision.action is Action.ANSWER and decision.intent == intent:
            replies[text] = brain.composer.compose(decision, turn=1).text
    if not replies:
        raise ConfigError(
            f"build {brain.build_id} answers none of its own intent examples from a template; "
            "check the KB (`deskmate eval`) before load-testing it"
        )
    return replies


def make_workload(replies: dict[str, str], *, clients: int, messages: int, seed: int = 0) -> Workload:
    rng = random.Random(seed)
    pool = sorted(replies)
    return Workload([[rng.choice(pool) for _ in range(messages)] for _ in range(clients)], replies)


def measure_ceiling(
    brain: Brain,
    items: Sequence[tuple[str, tuple[str, ...]]],
    *,
    batch_sizes: Sequence[int] = CEILING_BATCHES,
    messages: int = 512,
    repeats: int = 3,
) -> CeilingResult:
    """Time ``brain.understand`` on ``messages`` of ``items``, taken evenly spaced and in order.

    In order and evenly spaced, so that the sample holds the workload's mix: a customer's first
    message has no context and its batch skips the context encoding, as on the server.
    """
    if not items or messages < 1 or repeats < 1 or not batch_sizes or min(batch_sizes) < 1:
        raise ConfigError("the ceiling needs messages, and positive --ceiling-messages, repeats and batch sizes")
    work = evenly_spaced(items, messages)
    by_batch: dict[int, float] = {}
    for size in batch_sizes:
        batches = [work[start : start + size] for start in range(0, len(work), size)]
        _understand(brain, batches[-1])  # warm-up: allocator, thread pool, tokenizer caches
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            for batch in batches:
                _understand(brain, batch)
            seconds.append(time.perf_counter() - started)
        by_batch[size] = len(work) / statistics.median(seconds)
    best = max(by_batch, key=lambda size: by_batch[size])
    return CeilingResult(len(work), repeats, by_batch, best, by_batch[best])


def _understand(brain: Brain, batch: Sequence[tuple[str, tuple[str, ...]]]) -> None:
    brain.understand([text for text, _ in batch], [context for _, context in batch])


def _build_to_load(settings: Settings, served: str | None, embedder: Embedder) -> BuildInfo:
    from bot.app import prepare_build

    if served is None:  # what the launched server will serve: the active build (built now if missing)
        return prepare_build(settings, embedder, progress=False)
    info = find_build(settings.builds, served)
    if info is None:
        raise BuildNotFoundError(
            f"the server serves build {served}, which is not in {settings.builds}; pass the server's --data-dir "
            "so that the ceiling is measured on the same model"
        )
    return info


def machine_facts() -> dict[str, Any]:
    import torch

    return {
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "cpu_pressure": _cpu_pressure(),
    }


def _cpu_pressure() -> str | None:
    """Linux PSI: the share of time runnable tasks waited for a CPU (other work on the machine)."""
    try:
        return Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds spent during the load phase (None: not measured, e.g. a server given by ``url``)."""

    server: float | None
    clients: float | None
    cpus: int | None


def format_table(load: LoadResult, ceiling: CeilingResult, floor: FloorResult, cpu: CpuUse | None = None) -> str:
    def ms(seconds: float | None) -> str:
        return "-" if seconds is None else f"{1000 * seconds:,.0f} ms"

    def rates(by_batch: dict[int, float]) -> str:
        return ", ".join(f"batch {size}: {rate:,.1f}" for size, rate in by_batch.items())

    answers = ", ".join(f"{kind} {count}" for kind, count in sorted(load.answers.items())) or "none"
    one = f"; {floor.single_ms:,.1f} ms for one message" if floor.single_ms is not None else ""
    rows = [
        ("sent / answered", f"{load.sent:,} / {load.answered:,}  ({answers})"),
        ("lost", f"{load.lost:,}"),
        ("errors", f"{load.errors:,}" + (f"  ({dict(load.error_codes)})" if load.error_codes else "")),
        ("unsent", f"{load.unsent:,}"),
    ]
    if load.rate is not None:
        rows += [
            ("missed arrivals", f"{load.missed:,}  (arrivals that found every customer waiting for an answer)"),
            (
                "offered rate",
                f"{load.offered_rate or 0:,.1f} msg/s achieved, {load.rate:,.1f} asked, over {load.duration:,.0f} s"
                f"  (offered / floor: {_ratio((load.offered_rate or 0) / floor.messages_per_s)} achieved, "
                f"{_ratio(load.rate / floor.messages_per_s)} asked)",
            ),
        ]
    rows += [
        (
            "latency p50 / p95 / p99",
            f"{ms(load.latency.get('p50'))} / {ms(load.latency.get('p95'))} / "
            f"{ms(load.latency.get('p99'))}  (max {ms(load.latency.get('max'))})",
        ),
        ("ack p50 / p99", f"{ms(load.ack_latency.get('p50'))} / {ms(load.ack_latency.get('p99'))}"),
        ("load phase", f"{load.wall_seconds:.1f} s (connecting {load.connect_seconds:.1f} s, excluded)"),
        ("throughput", f"{load.throughput:,.1f} msg/s"),
        ("server / floor", _ratio(load.throughput / floor.messages_per_s)),
        (
            "floor",
            f"one bare MiniLM pass: {floor.messages_per_s:,.0f} msg/s best batch {floor.best_batch}{one}  "
            f"({rates(floor.by_batch)}; {floor.messages} messages, median of {floor.repeats}, "
            f"{floor.torch_threads} torch threads)",
        ),
        (
            "Deskmate pipeline ceiling (Brain.understand)",
            f"{ceiling.messages_per_s:,.1f} msg/s  ({rates(ceiling.by_batch)}; {ceiling.messages} messages, "
            f"median of {ceiling.repeats})",
        ),
        ("server / ceiling", _ratio(load.throughput / ceiling.messages_per_s)),
    ]
    if cpu is not None:
        rows.append(("CPU during the load", _cpu_row(load, floor, cpu)))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"  {name.ljust(width)}  {value}" for name, value in rows)


def _ratio(ratio: float) -> str:
    return f"{ratio:.2f}x ({100 * ratio:.1f}%)" if ratio >= 0.01 else f"{ratio:.4f}x ({100 * ratio:.2f}%)"


def _cpu_row(load: LoadResult, floor: FloorResult, cpu: CpuUse) -> str:
    floor_ms = f"{floor.cpu_ms_per_message:.1f} ms per message for the floor's pass (batch {floor.best_batch})"
    if cpu.server is None:
        row = f"server not measured (not launched here); {floor_ms}"
    elif not load.answered:
        row = f"server {cpu.server:.1f} s and no answer; {floor_ms}"
    else:
        per_answer = 1000 * cpu.server / load.answered
        row = f"server {per_answer:.1f} ms per answer vs {floor_ms}; server {cpu.server:.2f} s in all"
    clients = f"{cpu.clients:.2f} s" if cpu.clients is not None else "not measured"
    return f"{row}, benchmark clients {clients}, on {cpu.cpus} CPUs"


async def run_load_benchmark(
    *,
    clients: int,
    messages: int,
    think: float = 0.0,
    timeout: float = 30.0,
    url: str | None = None,
    data_dir: Path | None = None,
    seed: int = 0,
    rate: float | None = None,
    duration: float = 60.0,
    ceiling_messages: int = 512,
    ceiling_batches: Sequence[int] = CEILING_BATCHES,
    ceiling_repeats: int = 3,
    floor_messages: int | None = None,
    floor_batches: Sequence[int] = FLOOR_BATCHES,
    floor_repeats: int = 3,
    out: Path | None = None,
) -> dict[str, Any]:
    """Measure the floor and the ceiling, then the load (on a launched server unless ``url``); print and return
    the report. ``rate``: the open loop at that many messages per second for ``duration`` seconds, ``messages``
    unused; else the closed loop. ``floor_messages``: as many as ``ceiling_messages`` unless given."""
    if clients < 1 or messages < 1 or think < 0 or timeout <= 0:
        raise ConfigError("give --clients and --messages of at least 1, --think of 0 or more and a positive --timeout")
    if rate is not None and (rate <= 0 or duration <= 0 or think):
        raise ConfigError(
            "give --rate and --duration above 0, and no --think: in the open loop the arrivals set the pace"
        )
    from retrieval.embedder import MiniLMEmbedder

    settings = Settings.from_env(data_dir=data_dir)
    health = await asyncio.to_thread(healthz, url) if url is not None else None
    embedder = MiniLMEmbedder()
    info = await asyncio.to_thread(_build_to_load, settings, health["build"] if health else None, embedder)
    facts = machine_facts()
    print(f"Loading build {info.id} and choosing the messages ...", flush=True)
    brain = Brain.load(info, embedder, policy_config=settings.policy, int8=settings.int8)
    replies = answerable_messages(brain)
    if rate is not None:  # the scripts' length: each customer's expected share of the arrivals
        messages = max(1, math.ceil(rate * duration / clients))
    workload = make_workload(replies, clients=clients, messages=messages, seed=seed)
    items = workload.with_context()
    floor_messages = ceiling_messages if floor_messages is None else floor_messages
    print(
        f"Measuring the floor: one bare MiniLM pass over {floor_messages} of the workload's messages "
        f"({facts['torch_threads']} torch threads) ...",
        flush=True,
    )
    floor = measure_floor(
        [text for text, _ in items], batch_sizes=floor_batches, messages=floor_messages, repeats=floor_repeats
    )
    gc.collect()
    print("Measuring the Deskmate pipeline ceiling (Brain.understand) ...", flush=True)
    ceiling = measure_ceiling(
        brain, items, batch_sizes=ceiling_batches, messages=ceiling_messages, repeats=ceiling_repeats
    )
    del brain, embedder
    gc.collect()
    async with contextlib.AsyncExitStack() as stack:
        launched = None
        if url is None:
            print("Starting a server (fresh database, existing build) ...", flush=True)
            launched = await stack.enter_async_context(launched_server(settings, clients=clients))
            url = launched.url
            raised = ", ".join(f"{key}={value}" for key, value in launched.limits.items())
            print(f"Server pid {launched.pid} at {url}; abuse limits raised: {raised}", flush=True)
            print(
                f"Server start: /healthz answered {launched.start_s:.2f} s after launch; idle resident memory "
                f"{launched.idle_rss_mb:.0f} MB",
                flush=True,
            )
            health = await asyncio.to_thread(healthz, url)
            if health.get("build") != info.id:
                raise DeskmateError(f"the server serves build {health.get('build')}, the ceiling used {info.id}")
        pid = launched.pid if launched else None
        if rate is None:
            print(f"Load: {clients} customers x {messages} messages (think {think} s) against {url} ...", flush=True)
        else:
            print(
                f"Load: {rate:g} msg/s offered for {duration:g} s over {clients} customers against {url} ...",
                flush=True,
            )
        cpu = (process_cpu_seconds(None), process_cpu_seconds(pid))
        if rate is None:
            load = await run_load(url, workload.scripts, timeout=timeout, think=think)
        else:
            load = await run_open_load(
                url, workload.scripts, sorted(replies), rate=rate, duration=duration, timeout=timeout, seed=seed
            )
        cpu_after = (process_cpu_seconds(None), process_cpu_seconds(pid))
    cpu_use = CpuUse(
        server=_delta(cpu[1], cpu_after[1]) if launched else None,
        clients=_delta(cpu[0], cpu_after[0]),
        cpus=os.cpu_count(),
    )
    ok = load.lost == 0 and load.errors == 0 and load.unsent == 0 and load.missed == 0
    report: dict[str, Any] = {
        "config": {
            "mode": "closed" if rate is None else "open",
            "clients": clients,
            "messages": messages if rate is None else None,
            "think_s": think,
            "rate": rate,
            "duration_s": duration if rate is not None else None,
            "timeout_s": timeout,
            "seed": seed,
            "server": "launched" if launched else url,
            "raised_limits": launched.limits if launched else None,
            "distinct_texts": len(replies),
            "floor": {"messages": floor_messages, "batch_sizes": list(floor_batches), "repeats": floor_repeats},
            "ceiling": {"messages": ceiling_messages, "batch_sizes": list(ceiling_batches), "repeats": ceiling_repeats},
        },
        "machine": {**facts, "load_average_end": machine_facts()["load_average"]},
        "server_start": {"healthz_s": launched.start_s, "idle_rss_mb": launched.idle_rss_mb} if launched else None,
        "build": {"id": info.id, "kb": info.kb_name},
        "load": asdict(load),
        "cpu_s": {"bench_clients": cpu_use.clients, "server": cpu_use.server},
        "floor": asdict(floor),
        "ceiling": asdict(ceiling),
        "throughput_over_floor": load.throughput / floor.messages_per_s,
        "throughput_over_ceiling": load.throughput / ceiling.messages_per_s,
        "offered_over_floor": (load.offered_rate or 0) / floor.messages_per_s if rate is not None else None,
        "ok": ok,
    }
    table = format_table(load, ceiling, floor, cpu_use)
    report["table"] = table
    print(table)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    return report


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else round(after - before, 3)
