"""retrieval.bench.policy: templates, the answer threshold, decisions to outcomes, and a whole run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.cli.main import build_parser, main
from bot.core.policy import Action, Decision
from bot.errors import TrainingError
from retrieval.bench.policy import (
    HANDLED,
    NO_RETRIEVAL,
    RETRIEVAL_ALONE,
    THRESHOLD_GRID,
    UNCALIBRATED_THRESHOLD,
    CalibratedHead,
    ThresholdPoint,
    answer_threshold,
    calibrated_threshold,
    decision_outcome,
    format_curve,
    leave_dialogue_out,
    reply_templates,
    run_policy,
    run_policy_benchmark,
    threshold_curve,
)
from retrieval.bench.reply_scores import Outcome
from retrieval.bench.star_data import Dialogue, Turn
from retrieval.embedder import HashingEmbedder
from retrieval.retriever import RetrievedReply
from tests.retrieval.star_fixture import write_star
from training.embedding_head import EmbeddingHead


def agent(text: str, label: str | None) -> Turn:
    return Turn("agent", text, label)


def test_reply_templates_take_the_most_frequent_text_then_the_shortest() -> None:
    dialogues = [
        Dialogue("1", (Turn("user", "hi", None), agent("Hello!", "hello"), agent("Your name?", "ask_name"))),
        Dialogue("2", (agent("Hello!", "hello"), agent("Hi, how can I help?", "hello"), agent("Name?", "ask_name"))),
        Dialogue("3", (agent("free text", None),)),
    ]

    assert reply_templates(dialogues) == {"hello": "Hello!", "ask_name": "Name?"}


PROBS = np.array(
    [
        [0.95, 0.05, 0.0],  # right
        [0.9, 0.1, 0.0],  # wrong
        [0.8, 0.2, 0.0],  # right
        [0.5, 0.4, 0.1],  # right, but the margin over the second is under 0.2: the policy would not answer
        [0.7, 0.3, 0.0],  # right
    ]
)
GOLD = [0, 1, 0, 0, 0]


def test_answer_threshold_is_the_lowest_meeting_the_target_among_answerable_messages() -> None:
    # precision by threshold among the answerable rows: 0.95 -> 1, 0.9 -> 1/2, 0.8 -> 2/3, 0.7 -> 3/4
    assert answer_threshold(PROBS, GOLD, target=0.75, margin=0.2) == (0.7, 4 / 5, 0.75)
    assert answer_threshold(PROBS, GOLD, target=0.9, margin=0.2) == (0.95, 1 / 5, 1.0)
    # without the margin rule the fourth row counts too: 4/5 right down to 0.5
    assert answer_threshold(PROBS, GOLD, target=0.75, margin=0.0) == (0.5, 1.0, 0.8)
    # nothing reaches the target: answer nothing from the intent
    assert answer_threshold(PROBS, [2, 2, 2, 2, 2], target=0.9, margin=0.2) == (1.0, 0.0, None)


def test_decision_outcome_maps_each_action_to_what_is_sent() -> None:
    templates = {"hello": "Hello!"}
    labels: dict[str, str | None] = {"star:1#0": "ask_name", "star:1#2": None}
    hit = RetrievedReply("Your name?", "hi", 0.9, "star:1#0")

    answer = decision_outcome(
        Decision(Action.ANSWER, "confident_intent", intent="hello"), templates=templates, labels=labels
    )
    retrieved = decision_outcome(
        Decision(Action.RETRIEVED, "good_retrieval", retrieved=hit), templates=templates, labels=labels
    )
    free_text = decision_outcome(
        Decision(Action.RETRIEVED, "good_retrieval", retrieved=RetrievedReply("ok", "x", 0.9, "star:1#2")),
        templates=templates,
        labels=labels,
    )
    clarify = decision_outcome(
        Decision(Action.CLARIFY, "ambiguous", intent="hello", options=("hello", "bye")),
        templates=templates,
        labels=labels,
    )
    handoff = decision_outcome(
        Decision(Action.HANDOFF, "low_confidence", intent="hello"), templates=templates, labels=labels
    )

    assert (answer.label, answer.reply, answer.answered) == ("hello", "Hello!", True)
    assert (retrieved.label, retrieved.reply, retrieved.answered) == ("ask_name", "Your name?", True)
    assert (free_text.label, free_text.answered) == (None, True)
    assert (clarify.label, clarify.options, clarify.answered) == (None, ("hello", "bye"), False)
    assert (handoff.label, handoff.answered, handoff.rule) == (None, False, "low_confidence")


def test_run_policy_goes_through_the_product_policy() -> None:
    head = EmbeddingHead(np.eye(2) * 10.0, np.zeros(2), ["a", "b"])  # [1, 0] -> a, [0, 1] -> b, [1, 1] -> a tie
    calibrated = CalibratedHead(head, 0.9, {})
    features = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 1.0], [0.0, 1.0]], dtype=np.float32)
    texts = ["first", "second", "third", "can I talk to a real person"]
    good, poor = RetrievedReply("r", "c", 0.95, "s1"), RetrievedReply("r", "c", 0.5, "s1")
    retrieved = [[poor], [good], [poor], [good]]

    outcomes, predictions = run_policy(
        calibrated,
        texts,
        features,
        retrieved,
        templates={"a": "A!", "b": "B!"},
        labels={"s1": "b"},
        retrieval_threshold=0.9,
    )

    assert [o.action for o in outcomes] == [Action.ANSWER, Action.RETRIEVED, Action.CLARIFY, Action.HANDOFF]
    assert [o.label for o in outcomes] == ["a", "b", None, None]
    assert outcomes[0].reply == "A!"
    assert outcomes[3].rule == "explicit_request"
    assert [p.top.intent for p in predictions] == ["a", "a", "a", "b"]
    above, _ = run_policy(
        calibrated, texts, features, retrieved, templates={}, labels={"s1": "b"}, retrieval_threshold=0.96
    )
    assert above[1].action is Action.CLARIFY  # the same hit, under a higher threshold: the next rule decides


def _outcomes_at(scores: list[float], right: list[bool]) -> object:
    """A stand-in policy: a retrieved reply wherever its score reaches the threshold, else a handoff."""

    def at(threshold: float) -> list[Outcome]:
        return [
            Outcome(Action.RETRIEVED, "g" if ok else "x") if score >= threshold else Outcome(Action.HANDOFF)
            for score, ok in zip(scores, right, strict=True)
        ]

    return at


def test_threshold_curve_and_the_lowest_threshold_meeting_the_target() -> None:
    scores = [0.95, 0.92, 0.9, 0.85, 0.85, 0.7]
    right = [True, True, False, True, True, False]
    gold = ["g"] * 6

    curve = threshold_curve(_outcomes_at(scores, right), gold, thresholds=[0.5, 0.8, 0.85, 0.9, 0.95, 1.0])  # type: ignore[arg-type]

    by = {p.threshold: p for p in curve}
    assert (by[0.5].retrieved, by[0.5].retrieved_precision, by[0.5].wrong_rate) == (6, 4 / 6, 2 / 6)
    assert (by[0.85].retrieved, by[0.85].retrieved_precision) == (5, 4 / 5)
    assert (by[0.9].retrieved, by[0.9].retrieved_precision) == (3, 2 / 3)
    assert (by[0.95].retrieved, by[0.95].retrieved_precision, by[0.95].retrieved_coverage) == (1, 1.0, 1 / 6)
    assert (by[1.0].retrieved, by[1.0].retrieved_precision, by[1.0].coverage) == (0, None, 0.0)
    # precision is not monotone: the lowest threshold reaching the target wins
    assert calibrated_threshold(curve, target=0.8, min_replies=1) == by[0.8]
    assert calibrated_threshold(curve, target=0.9, min_replies=1) == by[0.95]
    assert calibrated_threshold(curve, target=0.9, min_replies=2) is None  # 0.95's single reply is too few
    assert calibrated_threshold(curve, target=0.6, min_replies=1) == by[0.5]


def test_format_curve_shows_every_step_and_marks_the_calibrated_threshold() -> None:
    points = [ThresholdPoint(t, 3, 0.3, 0.9, 0.5, 0.1) for t in THRESHOLD_GRID]

    lines = format_curve(points, calibrated=0.93, marked=[0.8]).splitlines()

    shown = [float(line.split()[0]) for line in lines[2:]]
    assert shown == [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 1.0]
    assert lines[2 + shown.index(0.93)].endswith("<- calibrated")
    assert lines[2].split()[1:] == ["30.00", "90.00", "50.00", "10.00"]


def test_leave_dialogue_out_drops_the_pairs_only_the_own_dialogue_holds() -> None:
    own_only, shared, other = (
        RetrievedReply("r", "c", s, src) for s, src in [(1.0, "star:1#2"), (0.9, "star:1#4"), (0.8, "star:2#2")]
    )
    holders = {"star:1#2": frozenset({"1"}), "star:1#4": frozenset({"1", "3"}), "star:2#2": frozenset({"2"})}
    rows = [[own_only, shared, other], [own_only, shared, other], [own_only]]

    kept = leave_dialogue_out(rows, ["star:1#6", "star:2#0", "star:1#8"], holders)

    assert kept == [[shared], [own_only], []]  # dialogue 1's query keeps the pair dialogue 3 also holds
    assert leave_dialogue_out(rows[:1], ["star:1#6"], holders, keep=2) == [[shared, other]]


def test_benchmark_run_on_a_tiny_star_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    star = write_star(tmp_path / "star.jsonl.gz")
    out = tmp_path / "results" / "policy.json"

    report = run_policy_benchmark(star, embedder=HashingEmbedder(dim=512), seed=13, min_validation_replies=1, out=out)

    dataset = report["dataset"]
    assert (dataset["dialogues"], dataset["train_dialogues"], dataset["test_dialogues"]) == (10, 8, 2)
    assert dataset["queries"] == 2 * 6
    assert dataset["head_examples"] == 8 * 6  # every labelled exchange, not deduplicated
    assert dataset["head_validation_examples"] == 6  # one of each of the six actions
    assert dataset["labels"] == 6
    assert dataset["template_share_of_labelled_agent_turns"] == 1.0  # one text per action in the fixture
    assert dataset["retrieval_top_pair_free_text"] == 0
    assert report["answer_precision_target"] == 0.9
    assert report["chosen_head_input"] in report["heads"]
    for head in report["heads"].values():
        assert head["train_examples"] + head["validation_examples"] == 48
        assert 0.0 <= head["threshold"] <= 1.0 and head["temperature"] > 0
        assert head["validation_precision"] is None or head["validation_precision"] >= 0.9
    assert (report["runtime"], report["embedder"], report["encoder"]["runtime"]) == (None, "HashingEmbedder", None)
    calibration = report["retrieval_threshold"]
    assert calibration["target"] == 0.9 and calibration["head_input"] == report["chosen_head_input"]
    assert calibration["validation_messages"] == 6 and len(calibration["validation_curve"]) == len(THRESHOLD_GRID)
    # the head answers every validation message itself: no retrieved reply to calibrate on, none sent
    assert all(p["retrieved"] == 0 for p in calibration["validation_curve"])
    cut = calibration["calibrated"]
    assert (calibration["reached"], cut, calibration["compared_with"]) == (
        False,
        NO_RETRIEVAL,
        [UNCALIBRATED_THRESHOLD],
    )
    assert report["policy_config"]["retrieval_threshold"] == cut
    assert report["policy_config"]["answer_threshold"] == report["heads"][report["chosen_head_input"]]["threshold"]
    alone = report["retrieval_alone_by_policy_retrieval_threshold"]
    assert {a["threshold"] for a in alone} == {cut, *calibration["compared_with"]}
    assert all(0.0 <= a["share_at_or_above"] <= 1.0 for a in alone)

    results = {r["name"]: r for r in report["results"]}
    names = list(results)
    compared = len(calibration["compared_with"])
    assert names[0] == RETRIEVAL_ALONE and HANDLED in names and len(names) == 5 + compared
    assert sum("(chosen)" in name for name in names) == 1
    assert sum(f"retrieval >= {cut:.2f}" in name for name in names) == 2  # both heads at the calibrated cut
    for row in results.values():
        assert row["wrong_from_retrieved"] is None or 0.0 <= row["wrong_from_retrieved"] <= 1.0
    alone = results[RETRIEVAL_ALONE]
    assert (alone["coverage"], alone["match_rate"]) == (1.0, 1.0)  # every flow step is told apart by its context
    assert report["ratios_vs_retrieval_alone"][RETRIEVAL_ALONE]["match_rate"] == 1.0
    for name, kinds in report["breakdown"].items():
        assert sum(k["count"] for k in kinds) == 12
        assert sum(report["rules"][name].values()) == 12
        replies = sum(k["count"] for k in kinds if k["kind"] in ("answer", "retrieved"))
        assert results[name]["replies"] == replies
    for row in results.values():
        assert row["wrong_rate"] == pytest.approx((row["replies"] - row["right"]) / 12)

    written = json.loads(out.read_text(encoding="utf-8"))
    assert written == report
    text = out.read_text(encoding="utf-8")
    assert "Ann Lee" not in text and "account number" not in text  # counts and metrics only, no rows
    printed = capsys.readouterr().out
    assert "12 queries" in printed and RETRIEVAL_ALONE in printed and "retrieval alone right %" in printed
    assert "sentence encoder: HashingEmbedder (given)" in printed and "no threshold reaches 90%" in printed


def test_the_retrieval_threshold_is_calibrated_on_the_validation_slice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    star = write_star(tmp_path / "star.jsonl.gz")
    # a head that answers nothing: every validation message goes on to the retrieval rule
    monkeypatch.setattr("retrieval.bench.policy.answer_threshold", lambda *a, **k: (1.01, 0.0, None))

    report = run_policy_benchmark(star, embedder=HashingEmbedder(dim=512), seed=13, min_validation_replies=1)

    calibration = report["retrieval_threshold"]
    cut = calibration["calibrated"]
    assert calibration["reached"] and cut in THRESHOLD_GRID
    point = next(p for p in calibration["validation_curve"] if p["threshold"] == cut)
    # each validation turn finds the same flow step in another dialogue (its own dialogue's pairs left out)
    assert (point["retrieved"], point["retrieved_precision"]) == (6, 1.0)
    assert calibration["validation_without_a_pair_from_another_dialogue"] == 0
    chosen = next(r for r in report["results"] if "(chosen)" in r["name"])
    assert f"retrieval >= {cut:.2f}" in chosen["name"]
    assert (chosen["coverage"], chosen["match_rate"]) == (1.0, 1.0)
    assert f"retrieval threshold: {cut:.2f}, the lowest" in capsys.readouterr().out


def test_an_unreachable_target_sends_no_retrieved_reply(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    star = write_star(tmp_path / "star.jsonl.gz")

    report = run_policy_benchmark(star, embedder=HashingEmbedder(dim=512), min_validation_replies=1000)

    calibration = report["retrieval_threshold"]
    assert (calibration["reached"], calibration["calibrated"]) == (False, NO_RETRIEVAL)
    chosen = next(r for r in report["results"] if "(chosen)" in r["name"])
    assert chosen["wrong_retrieved"] == 0
    assert "no threshold reaches 90%" in capsys.readouterr().out
    with pytest.raises(TrainingError, match="retrieval precision target"):
        run_policy_benchmark(star, embedder=HashingEmbedder(dim=64), retrieval_target=1.5)


def test_benchmark_refuses_a_file_too_small_to_split(tmp_path: Path) -> None:
    star = write_star(tmp_path / "star.jsonl.gz")

    with pytest.raises(TrainingError, match="raise --limit"):
        run_policy_benchmark(star, embedder=HashingEmbedder(dim=64), limit=2)
    with pytest.raises(TrainingError, match="context_turns"):
        run_policy_benchmark(star, embedder=HashingEmbedder(dim=64), context_turns=-1)


def test_cli_parses_and_names_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["bench", "policy", "--star", "star.jsonl.gz", "--limit", "5", "--out", "o.json"])

    assert (args.star, args.seed, args.limit, args.out) == (Path("star.jsonl.gz"), 13, 5, Path("o.json"))
    assert (args.runtime, args.retrieval_target) == ("onnx-int8", None)
    assert args.run.__name__ == "_bench_policy"
    args = build_parser().parse_args(
        ["bench", "policy", "--star", "s.gz", "--runtime", "torch", "--retrieval-target", "0.8"]
    )
    assert (args.runtime, args.retrieval_target) == ("torch", 0.8)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "policy", "--star", "s.gz", "--runtime", "tensorflow"])
    capsys.readouterr()
    assert main(["bench", "policy", "--star", str(tmp_path / "missing.jsonl.gz")]) == 1
    assert "pass the STAR dialogues.jsonl.gz with --star" in capsys.readouterr().err
