"""retrieval.bench.index: a tiny run writes every field; the data is clustered and seeded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest

from bot.cli.main import main
from bot.errors import ConfigError
from retrieval.bench.index import IndexResult, clustered_vectors, recall_at_k, run_index_benchmark

FIELDS = set(IndexResult.__dataclass_fields__)


def test_clustered_vectors_are_seeded_unit_and_clustered() -> None:
    a = clustered_vectors(1_000, 48, seed=3)

    np.testing.assert_array_equal(a, clustered_vectors(1_000, 48, seed=3))
    assert not np.array_equal(a, clustered_vectors(1_000, 48, seed=4))
    assert a.shape == (1_000, 48) and a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    scores = a @ a.T
    np.fill_diagonal(scores, -1.0)
    nearest = scores.max(axis=1)
    assert nearest.mean() > 0.6  # a cluster-mate nearby: uniform vectors in 48-d would score about 0.4
    assert np.median(scores) < 0.2


def test_recall_at_k() -> None:
    assert recall_at_k([[1, 2], [3, 4]], [[2, 1], [3, 5]]) == 0.75
    assert recall_at_k([], []) == 1.0


def test_tiny_run_writes_every_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    threads = faiss.omp_get_max_threads()
    out = tmp_path / "bench" / "index.json"

    report = run_index_benchmark([2_000], queries=40, dim=32, batch=8, threads=1, nprobe=(1, 16), out=out)

    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert faiss.omp_get_max_threads() == threads  # restored
    rows = report["results"]
    assert [(r["size"], r["index"], r["nlist"], r["nprobe"]) for r in rows] == [
        (2_000, "flat", None, None),
        (2_000, "ivf nprobe=1", 50, 1),
        (2_000, "ivf nprobe=16", 50, 16),
    ]
    for row in rows:
        assert set(row) == FIELDS
        assert row["build_seconds"] > 0 and row["single_median_ms"] > 0
        assert row["single_p99_ms"] >= row["single_median_ms"] > 0
        assert row["single_1thread_p99_ms"] >= row["single_1thread_median_ms"] > 0
        assert row["batch_queries_per_s"] == pytest.approx(1000.0 / row["batch_per_query_ms"])
    assert rows[0]["recall_at_10"] == 1.0 and rows[0]["memory_bytes"] == 4 * 32 * 2_000
    assert rows[2]["recall_at_10"] >= 0.95
    assert rows[1]["memory_bytes"] == rows[2]["memory_bytes"] > rows[0]["memory_bytes"]
    assert rows[1]["recall_at_10"] < rows[2]["recall_at_10"]
    assert report["config"]["ivf"] == {"nlist": "4 * sqrt(size)", "nprobe": [1, 16], "k_factor": 4}
    assert report["config"]["queries"] == 40 and report["config"]["dim"] == 32
    assert report["machine"]["faiss_threads"] == 1
    assert {"cpu_count", "faiss", "load_average", "load_average_end"} <= set(report["machine"])
    printed = capsys.readouterr().out
    assert report["table"] in printed and "recall@10" in printed and f"wrote {out}" in printed


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"sizes": [5]}, "--sizes 5"), ({"sizes": [100], "queries": 0}, "--queries 0"), ({"sizes": []}, "empty")],
)
def test_bad_options_say_which(kwargs: dict[str, Any], message: str) -> None:
    sizes = kwargs.pop("sizes")
    with pytest.raises(ConfigError, match=message):
        run_index_benchmark(sizes, **kwargs)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "index.json"

    code = main(
        [
            "bench",
            "index",
            "--sizes",
            "300",
            "--queries",
            "12",
            "--threads",
            "1",
            "--nprobe",
            "4",
            "--out",
            str(out),
        ]
    )

    assert code == 0
    report = json.loads(out.read_text())
    assert [r["index"] for r in report["results"]] == ["flat", "ivf nprobe=4"]
    assert report["config"]["dim"] == 384 and report["config"]["sizes"] == [300]
    assert main(["bench", "index", "--sizes", "3"]) == 1
    assert "--sizes 3 (at least 10)" in capsys.readouterr().err
