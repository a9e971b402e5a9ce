"""training.memory: the in-memory twin of the intent classifier ranks the right intent."""

from __future__ import annotations

import pytest

from training.memory import InMemoryIntentClassifier
from training.prediction import IntentPrediction, IntentScore, rank

EXAMPLES = {
    "track_parcel": ["where is my parcel", "has my parcel shipped", "track my delivery"],
    "refund": ["I want a refund", "give me my money back", "refund for a broken kettle"],
    "opening_hours": ["when are you open", "what are your opening hours", "are you open on sunday"],
}


@pytest.fixture
def classifier() -> InMemoryIntentClassifier:
    return InMemoryIntentClassifier(EXAMPLES)


def test_labels_keep_the_given_order(classifier: InMemoryIntentClassifier) -> None:
    assert classifier.labels == ["track_parcel", "refund", "opening_hours"]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Where is my parcel?", "track_parcel"),
        ("can I track my delivery please", "track_parcel"),
        ("refund my broken kettle", "refund"),
        ("I want my money back", "refund"),
        ("are you open today", "opening_hours"),
    ],
)
def test_ranks_the_right_intent_first(classifier: InMemoryIntentClassifier, text: str, intent: str) -> None:
    (prediction,) = classifier.predict([text])

    assert prediction.top.intent == intent
    assert prediction.second is not None
    assert prediction.top.probability > prediction.second.probability


def test_ranking_is_a_full_distribution(classifier: InMemoryIntentClassifier) -> None:
    predictions = classifier.predict(["where is my parcel", "zzz qqq", "when are you open"])

    assert len(predictions) == 3
    for prediction in predictions:
        assert sorted(s.intent for s in prediction.ranking) == sorted(EXAMPLES)
        assert sum(s.probability for s in prediction.ranking) == pytest.approx(1.0)
        probabilities = [s.probability for s in prediction.ranking]
        assert probabilities == sorted(probabilities, reverse=True)
    # an exact example is confident; unknown words are spread evenly
    assert predictions[0].top.probability > 0.9
    assert predictions[1].top.probability == pytest.approx(1 / 3)


def test_sharpness_controls_confidence() -> None:
    soft = InMemoryIntentClassifier(EXAMPLES, sharpness=1.0).predict(["where is my parcel"])[0]
    sharp = InMemoryIntentClassifier(EXAMPLES, sharpness=30.0).predict(["where is my parcel"])[0]

    assert soft.top.intent == sharp.top.intent == "track_parcel"
    assert soft.top.probability < sharp.top.probability


def test_predict_empty_batch(classifier: InMemoryIntentClassifier) -> None:
    assert classifier.predict([]) == []


def test_rank_sorts_labels_by_probability() -> None:
    prediction = rank(["a", "b", "c"], [0.2, 0.5, 0.3])

    assert prediction == IntentPrediction((IntentScore("b", 0.5), IntentScore("c", 0.3), IntentScore("a", 0.2)))
    assert prediction.top == IntentScore("b", 0.5)
    assert prediction.second == IntentScore("c", 0.3)
    assert rank(["only"], [1.0]).second is None
    with pytest.raises(ValueError):
        rank(["a", "b"], [1.0])
