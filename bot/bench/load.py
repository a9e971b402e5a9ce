"""``deskmate bench load``: concurrent websocket customers against a chat server, beside the model's ceiling.

Three phases, one after the other so that they never compete for the CPU:

1. **ceiling** - the KB build the server serves is loaded here (``Brain.load``, as ``deskmate
   serve`` does) and ``Brain.understand`` is timed on batches of the very messages the customers
   will send, each with the context the server gives it (the customer's previous message and the
   bot's reply), at a few batch sizes. The best median rate is the most any server could answer
   with this model on this machine: the server's own work (frames, store, policy) comes on top.
2. **server** - unless a ``url`` is given, ``deskmate serve`` runs as a subprocess on a free
   loopback port over a fresh SQLite file in a temporary folder, serving the existing build of
   ``data_dir`` (nothing is trained when one exists), with the abuse limits raised so that one
   address may open every connection and send as fast as it likes (see :func:`raised_limits`).
3. **load** - every customer connects and says hello; then all start together and each sends its
   messages one after another, waiting for the bot's answer (reply, clarify or handoff) to one
   before sending the next (a closed loop), pausing ``think`` seconds between them.

Latency runs from sending a message to receiving its answer. A message is *lost* when it is not
acknowledged or not answered within ``timeout``; *errors* count error frames and failed
connections; *unsent* messages belong to customers whose connection failed. Throughput is the
answered messages over the wall time of the load phase (connecting excluded).

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
import os
import platform
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.bench.load_clients import LoadResult, run_load
from bot.core.policy import Action, TurnContext
from bot.errors import BuildNotFoundError, ConfigError, DeskmateError
from bot.ops.config import Settings
from bot.service.brain import Brain
from kb.build import BuildInfo, find_build
from retrieval.embedder import Embedder

logger = logging.getLogger(__name__)

CEILING_BATCHES = (8, 32, 64)
STARTUP_TIMEOUT = 300.0  # a first start without a build trains the KB's model (about a minute on 2 CPUs)
_RUNNING = "Deskmate is running: open http://"


@dataclass(frozen=True)
class CeilingResult:
    """Bare ``Brain.understand`` throughput: messages per second, median of ``repeats`` runs per batch size."""

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
    work = [items[i * len(items) // messages] for i in range(messages)]
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


def raised_limits(clients: int) -> dict[str, str]:
    """Abuse limits for a launched server: every customer from one address, sending at will."""
    return {
        "DESKMATE_MAX_CONNECTIONS_PER_ADDRESS": str(clients + 10),
        "DESKMATE_ADDRESS_RATE": "1000",
        "DESKMATE_ADDRESS_BURST": str(max(1000, 10 * clients)),
        "DESKMATE_CUSTOMER_RATE": "1000",
        "DESKMATE_CUSTOMER_BURST": "1000",
    }


@dataclass(frozen=True)
class LaunchedServer:
    url: str
    pid: int
    limits: dict[str, str] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def launched_server(
    settings: Settings, *, clients: int, startup_timeout: float = STARTUP_TIMEOUT
) -> AsyncIterator[LaunchedServer]:
    """``deskmate serve`` on a free loopback port: a fresh SQLite file, the builds of ``settings``."""
    limits = raised_limits(clients)
    with tempfile.TemporaryDirectory(prefix="deskmate-load-") as tmp:
        folder = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k not in ("DESKMATE_DATABASE_URL", "DESKMATE_REDIS_URL")}
        env |= limits
        env["DESKMATE_SECRET_KEY"] = secrets.token_urlsafe(36)  # 48 characters
        env["DESKMATE_BUILDS_DIR"] = str(settings.builds.resolve())
        env["DESKMATE_DB_PATH"] = str(folder / "load.sqlite3")
        command = [sys.executable, "-m", "bot.cli.main", "serve", "--host", "127.0.0.1", "--port", "0"]
        command += ["--data-dir", str(folder), "--kb", str(settings.kb_path)]
        stdout, log = folder / "stdout.log", folder / "server.log"
        with stdout.open("wb") as out, log.open("wb") as err:
            process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
            try:
                port = await _port_of(process, stdout, log, startup_timeout)
                yield LaunchedServer(f"ws://127.0.0.1:{port}", process.pid, limits)
            finally:
                process.terminate()  # SIGTERM: the server closes its connections and store
                try:
                    await asyncio.to_thread(process.wait, 20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    await asyncio.to_thread(process.wait)


async def _port_of(process: subprocess.Popen[bytes], stdout: Path, log: Path, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in stdout.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(_RUNNING):
                return int(line[len(_RUNNING) :].split("/", 1)[0].rsplit(":", 1)[1])
        if process.poll() is not None:
            break
        await asyncio.sleep(0.2)
    tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
    state = f"exited with code {process.returncode}" if process.poll() is not None else f"not up after {timeout:.0f} s"
    raise DeskmateError(
        f"the benchmark's server {state}; its log ends with:\n  " + "\n  ".join(tail) + "\n"
        "fix the cause, or start a server yourself and pass --url ws://HOST:PORT"
    )


def healthz(url: str) -> dict[str, Any]:
    """The server's /healthz (``url``: ws://HOST:PORT)."""
    address = url.split("://", 1)[-1].split("/", 1)[0]
    try:
        with urllib.request.urlopen(f"http://{address}/healthz", timeout=10) as response:
            data: dict[str, Any] = json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"no Deskmate server answers at {url} ({exc}); start one or fix --url") from exc
    return data


def _process_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of process ``pid`` (Linux /proc), or None."""
    if pid is None:
        return time.process_time()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


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


def format_table(load: LoadResult, ceiling: CeilingResult, ratio: float) -> str:
    def ms(seconds: float | None) -> str:
        return "-" if seconds is None else f"{1000 * seconds:,.0f} ms"

    answers = ", ".join(f"{kind} {count}" for kind, count in sorted(load.answers.items())) or "none"
    batches = ", ".join(f"batch {size}: {rate:,.1f}" for size, rate in ceiling.by_batch.items())
    rows = [
        ("sent / answered", f"{load.sent:,} / {load.answered:,}  ({answers})"),
        ("lost", f"{load.lost:,}"),
        ("errors", f"{load.errors:,}" + (f"  ({dict(load.error_codes)})" if load.error_codes else "")),
        ("unsent", f"{load.unsent:,}"),
        (
            "latency p50 / p95 / p99",
            f"{ms(load.latency.get('p50'))} / {ms(load.latency.get('p95'))} / "
            f"{ms(load.latency.get('p99'))}  (max {ms(load.latency.get('max'))})",
        ),
        ("ack p50 / p99", f"{ms(load.ack_latency.get('p50'))} / {ms(load.ack_latency.get('p99'))}"),
        ("load phase", f"{load.wall_seconds:.1f} s (connecting {load.connect_seconds:.1f} s, excluded)"),
        ("throughput", f"{load.throughput:,.1f} msg/s"),
        (
            "model ceiling",
            f"{ceiling.messages_per_s:,.1f} msg/s  ({batches}; {ceiling.messages} messages, "
            f"median of {ceiling.repeats})",
        ),
        ("throughput / ceiling", f"{100 * ratio:.0f}%"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"  {name.ljust(width)}  {value}" for name, value in rows)


async def run_load_benchmark(
    *,
    clients: int,
    messages: int,
    think: float = 0.0,
    timeout: float = 30.0,
    url: str | None = None,
    data_dir: Path | None = None,
    seed: int = 0,
    ceiling_messages: int = 512,
    ceiling_batches: Sequence[int] = CEILING_BATCHES,
    ceiling_repeats: int = 3,
    out: Path | None = None,
) -> dict[str, Any]:
    """Measure the ceiling, then the load (on a launched server unless ``url``); print and return the report."""
    if clients < 1 or messages < 1 or think < 0 or timeout <= 0:
        raise ConfigError("give --clients and --messages of at least 1, --think of 0 or more and a positive --timeout")
    from retrieval.embedder import MiniLMEmbedder

    settings = Settings.from_env(data_dir=data_dir)
    health = healthz(url) if url is not None else None
    embedder = MiniLMEmbedder()
    info = await asyncio.to_thread(_build_to_load, settings, health["build"] if health else None, embedder)
    facts = machine_facts()
    print(f"Measuring the model ceiling on build {info.id} ({facts['torch_threads']} torch threads) ...", flush=True)
    brain = Brain.load(info, embedder, policy_config=settings.policy, int8=settings.int8)
    replies = answerable_messages(brain)
    workload = make_workload(replies, clients=clients, messages=messages, seed=seed)
    ceiling = measure_ceiling(
        brain,
        workload.with_context(),
        batch_sizes=ceiling_batches,
        messages=ceiling_messages,
        repeats=ceiling_repeats,
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
            health = healthz(url)
            if health.get("build") != info.id:
                raise DeskmateError(f"the server serves build {health.get('build')}, the ceiling used {info.id}")
        pid = launched.pid if launched else None
        print(f"Load: {clients} customers x {messages} messages (think {think} s) against {url} ...", flush=True)
        cpu = (_process_cpu_seconds(None), _process_cpu_seconds(pid))
        load = await run_load(url, workload.scripts, timeout=timeout, think=think)
        cpu_after = (_process_cpu_seconds(None), _process_cpu_seconds(pid))
    ratio = load.throughput / ceiling.messages_per_s
    ok = load.lost == 0 and load.errors == 0 and load.unsent == 0
    report: dict[str, Any] = {
        "config": {
            "clients": clients,
            "messages": messages,
            "think_s": think,
            "timeout_s": timeout,
            "seed": seed,
            "server": "launched" if launched else url,
            "raised_limits": launched.limits if launched else None,
            "distinct_texts": len(replies),
            "ceiling": {"messages": ceiling_messages, "batch_sizes": list(ceiling_batches), "repeats": ceiling_repeats},
        },
        "machine": {**facts, "load_average_end": machine_facts()["load_average"]},
        "build": {"id": info.id, "kb": info.kb_name},
        "load": asdict(load),
        "cpu_s": {
            "bench_clients": _delta(cpu[0], cpu_after[0]),
            "server": _delta(cpu[1], cpu_after[1]) if launched else None,
        },
        "ceiling": asdict(ceiling),
        "throughput_over_ceiling": ratio,
        "ok": ok,
    }
    table = format_table(load, ceiling, ratio)
    report["table"] = table
    print(table)
    server_cpu = report["cpu_s"]["server"]
    if server_cpu is not None and load.answered:
        print(
            f"  CPU during the load: server {server_cpu:.1f} s ({1000 * server_cpu / load.answered:.1f} ms per answer), "
            f"benchmark clients {report['cpu_s']['bench_clients']:.1f} s, on {facts['cpu_count']} CPUs"
        )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    return report


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else round(after - before, 3)
