"""``deskmate bench ...``: the benchmark commands, each importing what it measures only when run."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.ops.logcontext import configure_cli_logging as _configure_logging


def add_commands(commands: Any) -> None:
    bench = commands.add_parser("bench", help="benchmarks")
    bench_commands = bench.add_subparsers(dest="bench_command", required=True)
    intents = bench_commands.add_parser("intents", help="intent accuracy, macro-F1, training time, latency")
    intents.add_argument("--train", type=Path, required=True)
    intents.add_argument("--test", type=Path, required=True)
    intents.add_argument("--epochs", type=int, default=None)
    intents.add_argument("--latency-samples", type=int, default=200)
    intents.add_argument("--out", type=Path, help="also write the results as JSON here")
    intents.add_argument("--save-model", type=Path, help="save the trained intent model to this folder")
    intents.add_argument("--load-model", type=Path, help="score this saved intent model instead of training one")
    intents.add_argument(
        "--runtime",
        choices=["onnx-int8", "onnx-float32", "torch"],
        default="onnx-int8",
        help="how our model serves (default onnx-int8, as a KB build); a loaded PyTorch model is exported to it",
    )
    intents.set_defaults(run=_bench_intents)
    oos = bench_commands.add_parser("oos", help="out-of-scope detection with 25%% of the intents held out")
    oos.add_argument("--train", type=Path, required=True)
    oos.add_argument("--test", type=Path, required=True)
    oos.add_argument("--seeds", type=int, default=3, help="number of seeds (held-out intent draws)")
    oos.add_argument(
        "--model",
        choices=["full", "frozen"],
        default="full",
        help="full: the shipped model (slow on CPU); frozen: the frozen-embedding head alone",
    )
    oos.add_argument("--epochs", type=int, default=None)
    oos.add_argument("--out", type=Path, help="also write the results as JSON here")
    oos.set_defaults(run=_bench_oos)
    index = bench_commands.add_parser(
        "index", help="vector-index speed: flat vs approximate build time, latency, recall@10, memory"
    )
    index.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000], help="corpus sizes")
    index.add_argument("--queries", type=int, default=500, help="query vectors timed at each size")
    index.add_argument("--threads", type=int, default=2, help="FAISS OpenMP threads (default 2)")
    index.add_argument("--nlist", type=int, help="IVF lists (default 4 * sqrt(size))")
    index.add_argument("--nprobe", type=int, nargs="+", default=[8, 16, 32, 64], help="IVF nprobe values to time")
    index.add_argument("--k-factor", type=int, default=4, help="candidates per hit re-ranked exactly")
    index.add_argument("--out", type=Path, help="also write the results as JSON here")
    index.set_defaults(run=_bench_index)
    retrieval = bench_commands.add_parser(
        "retrieval", help="reply retrieval on STAR: recall@1/5 and MRR of action labels, ours vs BM25"
    )
    retrieval.add_argument("--star", type=Path, required=True, help="STAR dialogues.jsonl.gz")
    retrieval.add_argument("--seed", type=int, default=13, help="seed of the 80/20 split by dialogue id")
    retrieval.add_argument("--context-turns", type=int, default=2, help="turns of context before each user turn")
    retrieval.add_argument("--limit", type=int, help="read only the first N dialogues (quick runs)")
    retrieval.add_argument(
        "--runtime",
        choices=["onnx-int8", "onnx-float32", "torch"],
        default="onnx-int8",
        help="how the sentence encoder runs (default onnx-int8, as a KB build serves it: exported, int8 scales "
        "from the training split's user turns); torch: sentence-transformers",
    )
    retrieval.add_argument("--out", type=Path, help="also write the results as JSON here")
    retrieval.set_defaults(run=_bench_retrieval)
    policy = bench_commands.add_parser(
        "policy", help="reply choice on STAR: the full reply policy vs retrieval alone (match, coverage, wrong answers)"
    )
    policy.add_argument("--star", type=Path, required=True, help="STAR dialogues.jsonl.gz")
    policy.add_argument("--seed", type=int, default=13, help="seed of the 80/20 split by dialogue id")
    policy.add_argument("--limit", type=int, help="read only the first N dialogues (quick runs)")
    policy.add_argument(
        "--runtime",
        choices=["onnx-int8", "onnx-float32", "torch"],
        default="onnx-int8",
        help="how the sentence encoder runs (default onnx-int8, as a KB build serves it); torch: sentence-transformers",
    )
    policy.add_argument(
        "--retrieval-target",
        type=float,
        help="precision the policy's retrieved replies must reach on the validation slice at the calibrated "
        "retrieval threshold (default: the bench's own, see retrieval/bench/policy.py)",
    )
    policy.add_argument("--out", type=Path, help="also write the results as JSON here")
    policy.set_defaults(run=_bench_policy)
    faithfulness = bench_commands.add_parser(
        "faithfulness",
        help="generated-reply faithfulness check on our labelled set: precision, recall, F1 vs baselines, latency",
    )
    faithfulness.add_argument("--data", type=Path, help="labelled JSONL (default: bot/bench/faithfulness.jsonl)")
    faithfulness.add_argument("--out", type=Path, help="also write the results as JSON here")
    faithfulness.set_defaults(run=_bench_faithfulness)
    load = bench_commands.add_parser(
        "load",
        help="concurrent websocket customers against a server: latency, throughput, errors, lost messages",
        description="Drive N concurrent customers against a server started for the run (fresh temporary "
        "database, the existing build of --data-dir, abuse limits raised) or against --url: a closed loop (each "
        "sends its --messages straight through, waiting for each answer) or, with --rate, an open loop (Poisson "
        "arrivals at that rate for --duration seconds, each handed to a customer not waiting for an answer). "
        "Prints p50/p95/p99 reply latency, throughput, errors and lost messages next to two references measured "
        "first on the same messages: the floor (one bare MiniLM pass, sentence-transformers) and the Deskmate "
        "pipeline ceiling (Brain.understand); and the server's CPU time per answer beside the floor's per message. "
        "Exits with 1 when any message was lost, refused or unsent, any arrival missed or any error occurred, else 0.",
    )
    load.add_argument("--clients", type=int, default=200, help="concurrent customers (default 200)")
    load.add_argument("--messages", type=int, default=10, help="messages per customer, closed loop (default 10)")
    load.add_argument(
        "--think", type=float, default=0.0, help="seconds a customer pauses between messages, closed loop"
    )
    load.add_argument(
        "--rate",
        type=float,
        help="open loop: messages per second offered, all customers together (Poisson arrivals; default: closed loop)",
    )
    load.add_argument("--duration", type=float, default=60.0, help="open loop: seconds of arrivals (default 60)")
    load.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for an answer before it is lost")
    load.add_argument("--url", help="ws://HOST:PORT of a running server (default: start one for the run)")
    load.add_argument("--data-dir", type=Path, help="whose builds to serve and measure (default ./var)")
    load.add_argument("--seed", type=int, default=0, help="seed of the messages each customer sends")
    load.add_argument("--ceiling-messages", type=int, default=512, help="messages timed per ceiling batch size")
    load.add_argument(
        "--floor-messages", type=int, help="messages timed per floor batch size (default: --ceiling-messages)"
    )
    load.add_argument("--out", type=Path, help="also write the results and settings as JSON here")
    load.set_defaults(run=_bench_load)
    privacy = bench_commands.add_parser(
        "privacy",
        help="replay the KB's past dialogues with fresh personal data; count any other customer's data shown",
        description="Replay every past dialogue of the KB whose agent replies held personal data, with that "
        "customer's values swapped for fresh ones, through the real chat service in-process; then ask for a "
        "person and send the turns again so agent suggestions are made. Counts every personal value of another "
        "conversation in bot replies, generated text and suggestions, by kind. Exits with 1 on any leak.",
    )
    privacy.add_argument("--kb", type=Path, help="KB folder (default: the configured KB, else the demo KB)")
    privacy.add_argument(
        "--dialogues", type=Path, help="the raw export the KB's dialogues were imported from (.jsonl or .csv)"
    )
    privacy.add_argument(
        "--generator",
        choices=("echo", "local", "none"),
        default="echo",
        help="echo: a twin that repeats its grounding word for word (default); local: SmolLM2; none: off",
    )
    privacy.add_argument("--builds", type=Path, help="where to build the KB (default: the data folder's builds)")
    privacy.add_argument("--seed", type=int, default=0, help="seed of the fresh values")
    privacy.add_argument("--out", type=Path, help="also write the report as JSON here")
    privacy.set_defaults(run=_bench_privacy)
    insights = bench_commands.add_parser(
        "insights",
        help="time each insights figure on a SQLite file (and PostgreSQL) filled with synthetic conversations",
        description="Fill a fresh SQLite file (and the empty PostgreSQL database at --database-url, emptied again "
        "afterwards) with seeded synthetic conversations of about ten events each, then time each insights query "
        "for the last --days days (median of --runs runs) and print the table with the fill time and the row "
        "count. The goal: every query under 1 s on SQLite. Exits with 1 when SQLite misses it.",
    )
    insights.add_argument("--conversations", type=int, default=100_000, help="conversations to write (default 100000)")
    insights.add_argument("--database-url", help="an empty PostgreSQL database to fill and time as well")
    insights.add_argument("--days", type=int, default=30, help="the period timed, and over which conversations start")
    insights.add_argument("--runs", type=int, default=5, help="timed runs of each query (default 5)")
    insights.add_argument("--seed", type=int, default=7, help="seed of the synthetic conversations")
    insights.add_argument(
        "--check", action="store_true", help="also compare every figure with the in-memory reference (small runs)"
    )
    insights.add_argument("--out", type=Path, help="also write the report as JSON here")
    insights.set_defaults(run=_bench_insights)


def _bench_intents(args: argparse.Namespace) -> int:
    from training.bench.intents import run_intent_benchmark

    _configure_logging("WARNING")
    run_intent_benchmark(
        args.train,
        args.test,
        epochs=args.epochs,
        out=args.out,
        latency_samples=args.latency_samples,
        save=args.save_model,
        load=args.load_model,
        runtime=args.runtime,
    )
    return 0


def _bench_oos(args: argparse.Namespace) -> int:
    from retrieval.embedder import MiniLMEmbedder
    from training.bench.oos import frozen_fitter, full_fitter, run_oos_benchmark

    _configure_logging("INFO")
    embedder = MiniLMEmbedder()
    fitter = frozen_fitter(embedder) if args.model == "frozen" else full_fitter(embedder, epochs=args.epochs)
    run_oos_benchmark(args.train, args.test, embedder=embedder, fitter=fitter, seeds=range(args.seeds), out=args.out)
    return 0


def _bench_index(args: argparse.Namespace) -> int:
    from retrieval.bench.index import run_index_benchmark

    _configure_logging("INFO")
    run_index_benchmark(
        args.sizes,
        queries=args.queries,
        threads=args.threads,
        nlist=args.nlist,
        nprobe=args.nprobe,
        k_factor=args.k_factor,
        out=args.out,
    )
    return 0


def _bench_retrieval(args: argparse.Namespace) -> int:
    from retrieval.bench.star import run_retrieval_benchmark

    _configure_logging("INFO")
    run_retrieval_benchmark(
        args.star,
        runtime=args.runtime,
        seed=args.seed,
        context_turns=args.context_turns,
        limit=args.limit,
        out=args.out,
    )
    return 0


def _bench_policy(args: argparse.Namespace) -> int:
    from retrieval.bench.policy import run_policy_benchmark

    _configure_logging("INFO")
    target = {} if args.retrieval_target is None else {"retrieval_target": args.retrieval_target}
    run_policy_benchmark(args.star, runtime=args.runtime, seed=args.seed, limit=args.limit, out=args.out, **target)
    return 0


def _bench_faithfulness(args: argparse.Namespace) -> int:
    from bot.bench.faithfulness import run_faithfulness_benchmark

    _configure_logging("WARNING")
    run_faithfulness_benchmark(args.data, out=args.out)
    return 0


def _bench_load(args: argparse.Namespace) -> int:
    from bot.bench.load import run_load_benchmark

    _configure_logging("WARNING")
    report = asyncio.run(
        run_load_benchmark(
            clients=args.clients,
            messages=args.messages,
            think=args.think,
            timeout=args.timeout,
            url=args.url,
            data_dir=args.data_dir,
            seed=args.seed,
            rate=args.rate,
            duration=args.duration,
            ceiling_messages=args.ceiling_messages,
            floor_messages=args.floor_messages,
            out=args.out,
        )
    )
    return 0 if report["ok"] else 1


def _bench_privacy(args: argparse.Namespace) -> int:
    from bot.bench.privacy import EchoGenerator, run_privacy_benchmark
    from bot.generation import Generator, LocalSmolLM2Generator
    from bot.ops.config import DEMO_KB, Settings
    from retrieval.embedder import MiniLMEmbedder

    _configure_logging("WARNING")
    settings = Settings.from_env()
    kb_dir = args.kb or settings.kb_path
    generator: Generator | None = None
    if args.generator == "echo":
        generator = EchoGenerator()
    elif args.generator == "local":
        local = LocalSmolLM2Generator(settings.data_dir / "models" / "smollm2")
        local.load()
        generator = local
    report = asyncio.run(
        run_privacy_benchmark(
            kb_dir,
            builds_dir=args.builds or settings.builds,
            embedder=MiniLMEmbedder(),
            dialogues_file=args.dialogues,
            generator=generator,
            generator_name=args.generator,
            actions_package=settings.actions if kb_dir.resolve() == DEMO_KB.resolve() else None,
            seed=args.seed,
            out=args.out,
        )
    )
    return 1 if report.leaks else 0


def _bench_insights(args: argparse.Namespace) -> int:
    from bot.bench.insights import run_insights_benchmark

    _configure_logging("WARNING")
    report = asyncio.run(
        run_insights_benchmark(
            args.conversations,
            database_url=args.database_url,
            days=args.days,
            seed=args.seed,
            runs=args.runs,
            check=args.check,
            out=args.out,
        )
    )
    return 0 if report["goal_met"] else 1
