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
    RETRIEVAL_ALONE,
    CalibratedHead,
    answer_threshold,
    decision_outcome,
    reply_templates,
    run_policy,
    run_policy_benchmark,
)
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
        calibrated, texts, features, retrieved, templates={"a": "A!", "b": "B!"}, labels={"s1": "b"}
    )

    assert [o.action for o in outcomes] == [Action.ANSWER, Action.RETRIEVED, Action.CLARIFY, Action.HANDOFF]
    assert [o.label for o in outcomes] == ["a", "b", None, None]
    assert outcomes[0].reply == "A!"
    assert outcomes[3].rule == "explicit_request"
    assert [p.top.intent for p in predictions] == ["a", "a", "a", "b"]


def test_benchmark_run_on_a_tiny_star_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    star = write_star(tmp_path / "star.jsonl.gz")
    out = tmp_path / "results" / "policy.json"

    report = run_policy_benchmark(star, embedder=HashingEmbedder(dim=512), seed=13, out=out)

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
    cut = report["retrieval_alone_by_policy_retrieval_threshold"]
    assert cut["threshold"] == 0.8 and 0.0 <= cut["share_at_or_above"] <= 1.0
    assert report["policy_config"]["answer_threshold"] == report["heads"][report["chosen_head_input"]]["threshold"]

    results = {r["name"]: r for r in report["results"]}
    names = list(results)
    assert names[0] == RETRIEVAL_ALONE and HANDLED in names and len(names) == 5
    assert sum("(chosen)" in name for name in names) == 1
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


def test_benchmark_refuses_a_file_too_small_to_split(tmp_path: Path) -> None:
    star = write_star(tmp_path / "star.jsonl.gz")

    with pytest.raises(TrainingError, match="raise --limit"):
        run_policy_benchmark(star, embedder=HashingEmbedder(dim=64), limit=2)
    with pytest.raises(TrainingError, match="context_turns"):
        run_policy_benchmark(star, embedder=HashingEmbedder(dim=64), context_turns=-1)


def test_cli_parses_and_names_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["bench", "policy", "--star", "star.jsonl.gz", "--limit", "5", "--out", "o.json"])

    assert (args.star, args.seed, args.limit, args.out) == (Path("star.jsonl.gz"), 13, 5, Path("o.json"))
    assert args.run.__name__ == "_bench_policy"
    assert main(["bench", "policy", "--star", str(tmp_path / "missing.jsonl.gz")]) == 1
    assert "pass the STAR dialogues.jsonl.gz with --star" in capsys.readouterr().err
