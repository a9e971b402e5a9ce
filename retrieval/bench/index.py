"""Vector-index speed benchmark: the exact flat index against the approximate one, by corpus size.

For each size it draws seeded, clustered unit vectors (dimension 384 by default) and measures,
through the same ``FaissIndex`` / ``ApproximateIndex`` classes the retriever uses:

* build time: ``add`` of the whole corpus (normalisation, quantiser training and graph included);
* memory: the bytes the index holds (vectors, codes and graph; ``nbytes``);
* latency one query at a time (median and 99th percentile, after a short warm-up), as the chat
  server searches: once with ``threads`` OpenMP threads and once with one. FAISS splits work
  across queries, so a single query gains nothing from a second thread, but on a busy machine
  every call waits at OpenMP's barrier for that thread to be scheduled (we saw 16 ms instead of
  1 ms for a flat scan of 20,000 vectors with 2 threads on 2 loaded cores);
* batched search, ``batch`` queries per call: time per query and queries per second;
* recall@10 of the approximate index against the flat one (whose results are exact), for each
  nprobe asked for.

The vectors are a two-level Gaussian mixture, so that nearest neighbours are meaningful as they
are for sentence embeddings: topics of about 2,000 vectors, clusters of about 50 inside a topic,
vectors scattered around their cluster (top-1 cosine about 0.7, falling off after the cluster's
members). Uniformly random vectors would make every neighbour almost equally far and recall
meaningless. FAISS runs on ``threads`` OpenMP threads (default 2, the target machine's cores).

The results are printed as a table and can be written as JSON; nothing but synthetic vectors is
used.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import platform
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bot.errors import ConfigError
from retrieval.ann import ApproximateIndex
from retrieval.index import FaissIndex
from retrieval.search import Vectors

logger = logging.getLogger(__name__)

TOP_K = 10
WARMUP_QUERIES = 10
TOPIC_SIZE = 2_000
CLUSTER_SIZE = 50
TOPIC_SPREAD = 1.0  # cluster centres around their topic: noise norm relative to the unit centre
CLUSTER_SPREAD = 0.7  # vectors around their cluster centre
_CHUNK = 100_000


@dataclass(frozen=True)
class IndexResult:
    size: int
    index: str  # "flat", or "ivf" with its nprobe
    nlist: int | None
    nprobe: int | None
    build_seconds: float
    memory_bytes: int
    single_median_ms: float
    single_p99_ms: float
    single_1thread_median_ms: float
    single_1thread_p99_ms: float
    batch_per_query_ms: float
    batch_queries_per_s: float
    recall_at_10: float


def _unit(array: Vectors) -> Vectors:
    result: Vectors = (array / np.linalg.norm(array, axis=1, keepdims=True)).astype(np.float32, copy=False)
    return result


def clustered_vectors(count: int, dim: int = 384, *, seed: int = 0) -> Vectors:
    """``count`` unit vectors from a seeded two-level Gaussian mixture (topics, then clusters)."""
    rng = np.random.default_rng(seed)
    topics = _unit(rng.standard_normal((max(4, count // TOPIC_SIZE), dim), dtype=np.float32))
    clusters = max(8, count // CLUSTER_SIZE)
    noise = rng.standard_normal((clusters, dim), dtype=np.float32) * (TOPIC_SPREAD / np.sqrt(dim))
    centres = _unit(topics[rng.integers(0, len(topics), clusters)] + noise)
    vectors = np.empty((count, dim), dtype=np.float32)
    for start in range(0, count, _CHUNK):
        rows = min(_CHUNK, count - start)
        members = centres[rng.integers(0, clusters, rows)]
        scatter = rng.standard_normal((rows, dim), dtype=np.float32) * (CLUSTER_SPREAD / np.sqrt(dim))
        vectors[start : start + rows] = _unit(members + scatter)
    return vectors


def recall_at_k(found: Sequence[Sequence[int]], exact: Sequence[Sequence[int]]) -> float:
    """Mean share of each query's exact top-k that was found (1.0 when every list is complete)."""
    shares = [len(set(f) & set(e)) / len(e) for f, e in zip(found, exact, strict=True) if e]
    return float(np.mean(shares)) if shares else 1.0


def _time_single(index: FaissIndex, queries: Vectors) -> tuple[float, float, list[list[int]]]:
    for query in queries[:WARMUP_QUERIES]:
        index.search(query[None, :], TOP_K)
    timings: list[float] = []
    ids: list[list[int]] = []
    for query in queries:
        started = time.perf_counter()
        hits = index.search(query[None, :], TOP_K)
        timings.append((time.perf_counter() - started) * 1000.0)
        ids.append([h.corpus_id for h in hits[0]])
    return statistics.median(timings), float(np.percentile(timings, 99)), ids


def _time_batched(index: FaissIndex, queries: Vectors, batch: int) -> tuple[float, float]:
    index.search(queries[:batch], TOP_K)
    started = time.perf_counter()
    for start in range(0, len(queries), batch):
        index.search(queries[start : start + batch], TOP_K)
    seconds = time.perf_counter() - started
    return 1000.0 * seconds / len(queries), len(queries) / seconds


def _measure(
    index: FaissIndex,
    queries: Vectors,
    *,
    size: int,
    name: str,
    nlist: int | None,
    nprobe: int | None,
    build_seconds: float,
    batch: int,
    exact: list[list[int]] | None,
) -> tuple[IndexResult, list[list[int]]]:
    median, p99, ids = _time_single(index, queries)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        median_1, p99_1, _ = _time_single(index, queries)
    finally:
        faiss.omp_set_num_threads(threads)
    per_query, throughput = _time_batched(index, queries, batch)
    result = IndexResult(
        size=size,
        index=name,
        nlist=nlist,
        nprobe=nprobe,
        build_seconds=build_seconds,
        memory_bytes=index.nbytes,
        single_median_ms=median,
        single_p99_ms=p99,
        single_1thread_median_ms=median_1,
        single_1thread_p99_ms=p99_1,
        batch_per_query_ms=per_query,
        batch_queries_per_s=throughput,
        recall_at_10=1.0 if exact is None else recall_at_k(ids, exact),
    )
    logger.info("size %d %s: recall@10 %.4f, one query %.3f ms median", size, name, result.recall_at_10, median)
    return result, ids


def bench_size(
    size: int,
    *,
    dim: int,
    queries: int,
    batch: int,
    seed: int,
    nlist: int | None,
    nprobe: Sequence[int],
    k_factor: int,
) -> list[IndexResult]:
    """Flat and approximate indexes over ``size`` clustered vectors: one row for flat, one per nprobe."""
    data = clustered_vectors(size + queries, dim, seed=seed)
    corpus, probes = data[queries:], data[:queries]  # the mixture's draws are independent: any split will do

    logger.info("size %d: building the flat index", size)
    flat = FaissIndex(dim)
    started = time.perf_counter()
    flat.add(corpus)
    flat_result, exact = _measure(
        flat,
        probes,
        size=size,
        name="flat",
        nlist=None,
        nprobe=None,
        build_seconds=time.perf_counter() - started,
        batch=batch,
        exact=None,
    )
    del flat
    gc.collect()

    logger.info("size %d: building the approximate index", size)
    approximate = ApproximateIndex(dim, nlist=nlist, k_factor=k_factor)
    started = time.perf_counter()
    approximate.add(corpus)
    build_seconds = time.perf_counter() - started
    logger.info("size %d: approximate index of %d lists built in %.1f s", size, approximate.nlist, build_seconds)
    rows = [flat_result]
    for probes_count in nprobe:
        approximate.nprobe = probes_count
        rows.append(
            _measure(
                approximate,
                probes,
                size=size,
                name=f"ivf nprobe={probes_count}",
                nlist=approximate.nlist,
                nprobe=probes_count,
                build_seconds=build_seconds,
                batch=batch,
                exact=exact,
            )[0]
        )
    return rows


def machine_facts(threads: int) -> dict[str, Any]:
    return {
        "faiss_threads": threads,
        "cpu_count": os.cpu_count(),
        "faiss": faiss.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }


def format_table(results: Sequence[IndexResult]) -> str:
    """An aligned text table: one row per size and index ("1t": one query at a time on one thread)."""
    headers = [
        "size",
        "index",
        "build s",
        "memory MB",
        "1q med ms",
        "1q p99 ms",
        "1q med ms 1t",
        "1q p99 ms 1t",
        "batch ms/q",
        "batch q/s",
        "recall@10",
    ]
    rows = [
        [
            f"{r.size:,}",
            r.index,
            f"{r.build_seconds:.2f}",
            f"{r.memory_bytes / 1e6:.1f}",
            f"{r.single_median_ms:.3f}",
            f"{r.single_p99_ms:.3f}",
            f"{r.single_1thread_median_ms:.3f}",
            f"{r.single_1thread_p99_ms:.3f}",
            f"{r.batch_per_query_ms:.3f}",
            f"{r.batch_queries_per_s:,.0f}",
            f"{r.recall_at_10:.4f}",
        ]
        for r in results
    ]
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(width) if column == 1 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(row) for row in rows)])


def run_index_benchmark(
    sizes: Sequence[int],
    *,
    queries: int = 500,
    dim: int = 384,
    batch: int = 32,
    threads: int = 2,
    seed: int = 0,
    nlist: int | None = None,
    nprobe: Sequence[int] = (8, 16, 32, 64),
    k_factor: int = 4,
    out: Path | None = None,
) -> dict[str, Any]:
    """Benchmark both indexes at every size in ``sizes``; print the table and return the report.

    ``threads`` is FAISS's OpenMP thread count for the run (restored afterwards).
    """
    problems = [f"--sizes {s} (at least {TOP_K})" for s in sizes if s < TOP_K]
    problems += [
        f"--{name} {value} (at least 1)"
        for name, value in (("queries", queries), ("threads", threads), ("batch", batch))
        if value < 1
    ]
    problems += [f"--nprobe {n} (at least 1)" for n in nprobe if n < 1]
    problems += [f"--nlist {nlist} (at least 1)"] if nlist is not None and nlist < 1 else []
    if problems or not sizes:
        raise ConfigError("give the benchmark positive values: " + (", ".join(problems) or "--sizes is empty"))
    previous_threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    started = time.perf_counter()
    facts = machine_facts(threads)
    try:
        results = [
            row
            for size in sizes
            for row in bench_size(
                size,
                dim=dim,
                queries=queries,
                batch=batch,
                seed=seed,
                nlist=nlist,
                nprobe=nprobe,
                k_factor=k_factor,
            )
        ]
    finally:
        faiss.omp_set_num_threads(previous_threads)
    table = format_table(results)
    report: dict[str, Any] = {
        "config": {
            "sizes": list(sizes),
            "dim": dim,
            "queries": queries,
            "batch": batch,
            "top_k": TOP_K,
            "seed": seed,
            "ivf": {"nlist": nlist or "4 * sqrt(size)", "nprobe": list(nprobe), "k_factor": k_factor},
            "data": {
                "kind": "two-level gaussian mixture of unit vectors",
                "topic_size": TOPIC_SIZE,
                "cluster_size": CLUSTER_SIZE,
                "topic_spread": TOPIC_SPREAD,
                "cluster_spread": CLUSTER_SPREAD,
            },
        },
        "machine": {**facts, "load_average_end": machine_facts(threads)["load_average"]},
        "results": [asdict(r) for r in results],
        "total_seconds": time.perf_counter() - started,
        "table": table,
    }
    print(table)
    print(
        f"machine: {threads} FAISS threads, CPU count {facts['cpu_count']}, faiss {facts['faiss']}, "
        f"load average {facts['load_average']} -> {report['machine']['load_average_end']}; "
        f"total {report['total_seconds']:.0f} s"
    )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    return report
