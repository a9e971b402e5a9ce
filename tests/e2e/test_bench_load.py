"""``deskmate bench load`` in-process: its customers (closed and open loop) against a real server, its floor
and ceiling on the real models.

Timings are never asserted; only that every message was answered and the report holds together.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.bench.load import answerable_messages, format_table, make_workload, measure_ceiling, run_load_benchmark
from bot.bench.load_clients import customer_url, run_load
from bot.bench.load_floor import measure_floor
from bot.bench.load_open import run_open_load
from bot.bench.load_server import raised_limits
from bot.cli.main import build_parser
from bot.service.brain import Brain
from kb.build import BuildInfo

pytestmark = pytest.mark.slow


async def test_customers_get_every_answer_and_the_report_holds_together(demo_brain: Brain, base: str) -> None:
    replies = answerable_messages(demo_brain)
    workload = make_workload(replies, clients=5, messages=3, seed=1)
    assert [len(script) for script in workload.scripts] == [3] * 5

    load = await run_load(f"ws://{base}", workload.scripts, timeout=30.0)

    assert (load.clients, load.sent, load.answered) == (5, 15, 15)
    assert (load.lost, load.refused, load.unsent, load.errors, load.reconnects) == (0, 0, 0, 0, 0)
    assert load.answers == {"reply:template": 15}  # confidently answered examples: no fallback, no handoff
    assert set(load.latency) == {"p50", "p95", "p99", "max", "mean"}
    assert load.latency["p50"] <= load.latency["p95"] <= load.latency["p99"] <= load.latency["max"]
    assert set(load.ack_latency) == set(load.latency)
    assert load.throughput > 0 and load.wall_seconds > 0

    items = workload.with_context()
    first, second = workload.scripts[0][:2]
    assert items[0] == (first, ())  # in sending order: every first message, without context...
    assert items[5] == (second, (first, replies[first]))  # ...then the second ones, after message and reply
    ceiling = measure_ceiling(demo_brain, items, batch_sizes=(2, 4), messages=8, repeats=1)
    assert set(ceiling.by_batch) == {2, 4} and ceiling.messages == 8
    assert ceiling.messages_per_s == max(ceiling.by_batch.values()) > 0
    floor = measure_floor([text for text, _ in items], batch_sizes=(1, 4), messages=8, repeats=1)
    assert set(floor.by_batch) == {1, 4} and floor.messages == 8 and floor.single_ms is not None
    table = format_table(load, ceiling, floor)
    assert "server / floor" in table and "server / ceiling" in table and "one bare MiniLM pass" in table


async def test_an_open_loop_answers_every_arrival(demo_brain: Brain, base: str) -> None:
    replies = answerable_messages(demo_brain)
    workload = make_workload(replies, clients=10, messages=2, seed=2)

    load = await run_open_load(
        f"ws://{base}", workload.scripts, sorted(replies), rate=3.0, duration=4.0, timeout=30.0, seed=2
    )

    assert load.clients == 10 and load.sent > 0
    assert (load.sent, load.answers) == (load.answered, {"reply:template": load.answered})
    assert (load.lost, load.refused, load.unsent, load.errors, load.missed) == (0, 0, 0, 0, 0)
    assert (load.rate, load.duration, load.offered_rate) == (3.0, 4.0, load.sent / 4.0)
    assert load.latency["p50"] <= load.latency["max"] and load.wall_seconds > 0


async def test_the_whole_open_loop_benchmark_against_a_running_server(
    demo_build: BuildInfo, base: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DESKMATE_BUILDS_DIR", str(demo_build.path.parent))  # where the served build lies
    out = tmp_path / "load.json"

    report = await run_load_benchmark(
        clients=4,
        messages=1,
        url=f"ws://{base}",
        rate=3.0,
        duration=2.0,
        ceiling_messages=8,
        ceiling_batches=(4,),
        ceiling_repeats=1,
        floor_messages=8,
        floor_batches=(1, 4),
        floor_repeats=1,
        out=out,
    )

    assert report["ok"] and report["config"]["mode"] == "open" and report["build"]["id"] == demo_build.id
    assert report["floor"]["messages"] == 8 and report["floor"]["single_ms"] > 0
    assert report["throughput_over_floor"] == report["load"]["throughput"] / report["floor"]["messages_per_s"]
    assert report["offered_over_floor"] == report["load"]["offered_rate"] / report["floor"]["messages_per_s"]
    assert report["cpu_s"]["server"] is None  # not launched here: not measured
    for row in ("offered rate", "server / floor", "one bare MiniLM pass", "Deskmate pipeline ceiling"):
        assert row in report["table"]
    assert json.loads(out.read_text())["table"] == report["table"]


async def test_a_server_that_is_not_there_counts_failed_connections_and_unsent_messages() -> None:
    load = await run_load("ws://127.0.0.1:9", [["hello"], ["hi", "there"]], timeout=5.0)
    assert (load.sent, load.answered, load.unsent, load.connection_failures, load.errors) == (0, 0, 3, 2, 2)
    assert load.latency == {}


def test_urls_limits_and_the_command_line() -> None:
    assert customer_url("ws://127.0.0.1:8080") == "ws://127.0.0.1:8080/ws/customer"
    assert customer_url("127.0.0.1:8080/") == "ws://127.0.0.1:8080/ws/customer"
    assert customer_url("wss://chat.example.com/ws/customer") == "wss://chat.example.com/ws/customer"
    limits = raised_limits(200)
    assert limits["DESKMATE_MAX_CONNECTIONS_PER_ADDRESS"] == "210"
    assert float(limits["DESKMATE_CUSTOMER_RATE"]) >= 1000 and float(limits["DESKMATE_ADDRESS_RATE"]) >= 1000
    args = build_parser().parse_args(["bench", "load", "--clients", "5", "--messages", "3", "--url", "ws://h:1"])
    assert (args.clients, args.messages, args.think, args.timeout, args.url) == (5, 3, 0.0, 30.0, "ws://h:1")
    assert args.rate is None  # the closed loop
