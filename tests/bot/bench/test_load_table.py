"""The table of ``deskmate bench load``, its command line and its refusals, from made-up results."""

from __future__ import annotations

import dataclasses

import pytest

from bot.bench.load import CeilingResult, CpuUse, format_table, run_load_benchmark
from bot.bench.load_clients import LoadResult
from bot.bench.load_floor import FloorResult
from bot.cli.main import build_parser
from bot.errors import ConfigError

LOAD = LoadResult(
    clients=200,
    sent=2_000,
    answered=2_000,
    refused=0,
    lost=0,
    unsent=0,
    errors=0,
    connection_failures=0,
    reconnects=0,
    answers={"reply:template": 2_000},
    error_codes={},
    connect_seconds=1.5,
    wall_seconds=48.4,
    throughput=41.36,
    latency={"p50": 4.2, "p95": 5.0, "p99": 5.5, "max": 6.1, "mean": 4.3},
    ack_latency={"p50": 0.002, "p95": 0.004, "p99": 0.01, "max": 0.02, "mean": 0.003},
)
FLOOR = FloorResult(
    messages=512,
    repeats=3,
    torch_threads=2,
    by_batch={1: 71.9, 8: 250.0, 32: 350.0, 64: 376.0},
    best_batch=64,
    messages_per_s=376.0,
    single_ms=13.9,
    cpu_ms_per_message=5.2,
)
CEILING = CeilingResult(
    messages=512, repeats=3, by_batch={8: 90.0, 32: 110.0, 64: 120.0}, best_batch=64, messages_per_s=120.0
)


def rows(table: str) -> dict[str, str]:
    """Row name -> value (names and values are separated by two spaces or more)."""
    pairs = (line.strip().split("  ", 1) for line in table.splitlines())
    return {name: value.strip() for name, value in pairs}


def test_the_closed_loop_table_sets_throughput_beside_the_floor_and_the_ceiling() -> None:
    table = rows(format_table(LOAD, CEILING, FLOOR, CpuUse(server=90.0, clients=12.5, cpus=2)))

    assert table["throughput"] == "41.4 msg/s"
    assert table["server / floor"] == "0.11x (11.0%)"
    assert table["floor"].startswith("one bare MiniLM pass: 376 msg/s best batch 64; 13.9 ms for one message  (")
    assert "batch 1: 71.9" in table["floor"] and "2 torch threads" in table["floor"]
    assert table["Deskmate pipeline ceiling (Brain.understand)"].startswith("120.0 msg/s")
    assert table["server / ceiling"] == "0.34x (34.5%)"
    assert table["CPU during the load"].startswith(
        "server 45.0 ms per answer vs 5.2 ms per message for the floor's pass (batch 64); server 90.00 s in all"
    )
    assert table["latency p50 / p95 / p99"] == "4,200 ms / 5,000 ms / 5,500 ms  (max 6,100 ms)"
    assert "missed arrivals" not in table and "offered rate" not in table


def test_the_open_loop_table_adds_the_offered_rate_beside_the_floor() -> None:
    load = dataclasses.replace(LOAD, rate=67.0, duration=60.0, offered_rate=65.8, missed=3)

    table = rows(format_table(load, CEILING, FLOOR))

    assert table["missed arrivals"].startswith("3")
    assert table["offered rate"] == (
        "65.8 msg/s achieved, 67.0 asked, over 60 s  (offered / floor: 0.17x (17.5%) achieved, 0.18x (17.8%) asked)"
    )
    assert "CPU during the load" not in table


def test_tiny_ratios_keep_their_digits() -> None:
    load = dataclasses.replace(LOAD, throughput=0.5)
    assert rows(format_table(load, CEILING, FLOOR))["server / floor"] == "0.0013x (0.13%)"


def test_the_command_line_of_both_loops() -> None:
    parse = build_parser().parse_args
    args = parse(["bench", "load", "--rate", "67", "--clients", "1000", "--duration", "30", "--floor-messages", "64"])
    assert (args.rate, args.clients, args.duration, args.floor_messages) == (67.0, 1000, 30.0, 64)
    args = parse(["bench", "load"])
    assert (args.rate, args.duration, args.floor_messages, args.think) == (None, 60.0, None, 0.0)


@pytest.mark.parametrize("options", [{"rate": 0.0}, {"rate": 5.0, "duration": 0.0}, {"rate": 5.0, "think": 1.0}])
async def test_an_open_loop_without_a_pace_of_its_own_is_refused_before_anything_loads(
    options: dict[str, float],
) -> None:
    with pytest.raises(ConfigError, match="no --think"):
        await run_load_benchmark(clients=10, messages=1, url="ws://127.0.0.1:9", **options)  # type: ignore[arg-type]
