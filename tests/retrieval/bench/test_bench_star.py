"""retrieval.bench.star: ranking metrics, fusion, and a whole run on a tiny STAR-shaped file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.main import build_parser
from bot.errors import TrainingError
from retrieval.bench.star import (
    BM25,
    HYBRID,
    MAJORITY,
    Encoder,
    MethodResult,
    bench_encoder,
    calibration_texts,
    describe,
    first_right_rank,
    format_table,
    ratios,
    reciprocal_rank_fusion,
    run_retrieval_benchmark,
    score_rankings,
    turn_weights,
)
from retrieval.bench.star_data import Dialogue, Turn, labelled_queries, load_star, split_dialogues
from retrieval.embedder import HashingEmbedder, MiniLMEmbedder
from tests.retrieval.star_fixture import write_star


def test_first_right_rank() -> None:
    assert first_right_rank(["a", None, "b", "b"], "b") == 3
    assert first_right_rank(["a", "b"], "c") is None
    assert first_right_rank(["x"] * 10 + ["b"], "b") is None  # beyond the top 10
    assert first_right_rank(["x", "b"], "b", depth=1) is None


def test_score_rankings_by_hand() -> None:
    rankings: list[list[str | None]] = [
        ["a", "b", "c"],  # rank 1
        ["x", "x", "b", "x"],  # rank 3
        ["x", "x", "x", "x", "x", "y", "c"],  # rank 7: not in the top 5
        [None, "x"],  # never
    ]
    gold = ["a", "b", "c", "d"]

    scores = score_rankings(rankings, gold)

    assert scores.recall_at_1 == pytest.approx(1 / 4)
    assert scores.recall_at_5 == pytest.approx(2 / 4)
    assert scores.mrr_at_10 == pytest.approx((1 + 1 / 3 + 1 / 7 + 0) / 4)


def test_score_rankings_needs_one_gold_label_per_ranking() -> None:
    with pytest.raises(ValueError, match="pair up"):
        score_rankings([["a"]], [])
    assert score_rankings([], []).recall_at_1 == 0.0


def test_reciprocal_rank_fusion() -> None:
    # 2 is second in both lists: 2/62 beats 1/61 + 1/63 (7 first, 5 third) and 1/61 (9)
    fused = reciprocal_rank_fusion([[7, 2, 4], [9, 2, 7]], k=60, top_k=3)

    assert fused == [7, 2, 9]
    assert reciprocal_rank_fusion([[1, 2], []], top_k=10) == [1, 2]
    assert reciprocal_rank_fusion([[3], [3]], top_k=10) == [3]


def test_turn_weights() -> None:
    assert turn_weights(0) == [1.0]
    assert turn_weights(1) == [1.0, 1.0]
    assert turn_weights(3) == [1.0, 1.0, 0.5, 0.5]


def test_calibration_texts_are_distinct_user_turns_spread_over_the_dialogues() -> None:
    dialogues = [
        Dialogue(str(i), (Turn("user", f"u{i}", None), Turn("agent", f"a{i}", "x"), Turn("user", "same", None)))
        for i in range(10)
    ]

    assert calibration_texts(dialogues[:2]) == ["u0", "same", "u1"]  # agent turns and repeats left out
    spread = calibration_texts(dialogues, limit=4)
    assert spread == ["u0", "u1", "u4", "u7"]  # turns 0, 2, 5 and 8 of the 11 distinct ones, not the first four
    assert calibration_texts([Dialogue("1", (Turn("user", "  ", None),))]) == []


def test_bench_encoder_by_runtime() -> None:
    given = bench_encoder("onnx-int8", ["hi"], embedder=HashingEmbedder(dim=8))
    assert (given.runtime, given.name, given.facts) == (
        None,
        "HashingEmbedder",
        {"runtime": None, "embedder": "HashingEmbedder"},
    )
    assert describe(given) == "HashingEmbedder (given)"
    torch = bench_encoder("torch", ["hi"])  # MiniLM loads on first use: nothing loaded here
    assert isinstance(torch.embedder, MiniLMEmbedder) and (torch.runtime, torch.name) == ("torch", "MiniLM torch")
    assert describe(torch) == "runtime torch (sentence-transformers, PyTorch)"
    with pytest.raises(TrainingError, match="unknown model runtime 'tensorflow'"):
        bench_encoder("tensorflow", ["hi"])
    exported = Encoder(
        HashingEmbedder(),
        "onnx-int8",
        "MiniLM onnx-int8",
        {"quantization": "int8-static", "calibration_texts": 256, "export_seconds": 12.34},
    )
    assert describe(exported) == (
        "runtime onnx-int8 (ONNX Runtime, int8-static, scales from 256 training user turns; exported in 12.3 s)"
    )


def test_cli_takes_the_runtime() -> None:
    args = build_parser().parse_args(["bench", "retrieval", "--star", "s.gz"])
    assert (args.runtime, args.run.__name__) == ("onnx-int8", "_bench_retrieval")
    args = build_parser().parse_args(["bench", "retrieval", "--star", "s.gz", "--runtime", "onnx-float32"])
    assert args.runtime == "onnx-float32"


def test_ratios_and_table() -> None:
    ours = MethodResult("ours", 0.5, 0.8, 0.6, 1.0, 2.0, "faiss flat")
    base = MethodResult(BM25, 0.25, 0.8, 0.0, 0.1, 0.2, "bm25 sparse")

    assert ratios(ours, base) == {"recall_at_1": 2.0, "recall_at_5": 1.0, "mrr_at_10": None}
    table = format_table([ours, base], base).splitlines()
    assert table[0].split()[:4] == ["method", "R@1", "%", "R@5"]
    assert table[2].split()[:6] == ["ours", "50.00", "80.00", "0.6000", "2.00x", "1.00x"]


def test_benchmark_run_on_a_tiny_star_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    star = write_star(tmp_path / "star.jsonl.gz")
    out = tmp_path / "results" / "retrieval.json"

    report = run_retrieval_benchmark(star, embedder=HashingEmbedder(dim=512), seed=13, context_turns=2, out=out)

    dataset = report["dataset"]
    assert dataset["dialogues"] == 10
    assert (dataset["train_dialogues"], dataset["test_dialogues"]) == (8, 2)
    # 7 exchanges a dialogue; five repeat word for word in every dialogue, the name and account ones do not
    assert dataset["exchanges"] == 8 * 7
    assert dataset["pairs"] == 5 + 8 * 2
    assert dataset["duplicate_pairs_dropped"] == 8 * 7 - 21
    assert dataset["pairs_with_free_text_reply"] == 8
    assert dataset["queries"] == 2 * 6
    split = split_dialogues(load_star(star), seed=13)
    assert dataset["queries"] == len(labelled_queries(split.test, context_turns=2))

    results = {r["name"]: r for r in report["results"]}
    ours, by_turn = "ours: HashingEmbedder on the joined text", "ours: HashingEmbedder turn by turn"
    assert list(results) == [ours, by_turn, BM25, HYBRID, MAJORITY]
    assert (report["runtime"], report["encoder"]["runtime"]) == (None, None)  # the caller's embedder
    assert report["turn_weights"] == [1.0, 1.0, 0.5]
    # every step of the flow is told apart by its context: both retrievers get them all right
    assert results[BM25]["recall_at_1"] == 1.0
    assert results[ours]["recall_at_1"] == 1.0
    assert results[by_turn]["recall_at_1"] == 1.0
    assert results[HYBRID]["recall_at_1"] == 1.0
    # six actions, eight times each in training: the tie keeps their first-seen order, 2 of 12 queries per action
    assert results[MAJORITY]["recall_at_1"] == pytest.approx(2 / 12)
    assert results[MAJORITY]["recall_at_5"] == pytest.approx(10 / 12)
    assert report["ratios_vs_bm25"][BM25]["recall_at_1"] == 1.0
    assert results[ours]["index"] == "faiss flat"
    assert report["best_recall_at_1"] == ours  # a four-way tie at 1.0 keeps the first row

    written = json.loads(out.read_text(encoding="utf-8"))
    assert written == report
    text = out.read_text(encoding="utf-8")
    assert "Ann Lee" not in text and "account number" not in text  # counts and metrics only, no rows
    printed = capsys.readouterr().out
    assert "21 pairs" in printed and "12 queries" in printed and BM25 in printed


def test_benchmark_refuses_a_file_too_small_to_split(tmp_path: Path) -> None:
    star = write_star(tmp_path / "star.jsonl.gz")

    with pytest.raises(TrainingError, match="raise --limit"):
        run_retrieval_benchmark(star, embedder=HashingEmbedder(dim=64), limit=2)
    with pytest.raises(TrainingError, match="--context-turns"):
        run_retrieval_benchmark(star, embedder=HashingEmbedder(dim=64), context_turns=-1)
