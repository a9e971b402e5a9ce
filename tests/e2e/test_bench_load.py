"""``deskmate bench load`` in-process: its customers against a real server, its ceiling on the real model.

Timings are never asserted; only that every message was answered and the report holds together.
"""

from __future__ import annotations

import pytest

from bot.bench.load import (
    answerable_messages,
    format_table,
    make_workload,
    measure_ceiling,
    raised_limits,
)
from bot.bench.load_clients import customer_url, run_load
from bot.cli.main import build_parser
from bot.service.brain import Brain

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
    assert "throughput / ceiling" in format_table(load, ceiling, load.throughput / ceiling.messages_per_s)


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
