"""training.data: CSV loading with helpful errors and a stratified split."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.errors import TrainingError
from training.data import IntentData, load_csv, stratified_split


def make_data() -> IntentData:
    texts, labels = [], []
    for label, count in (("card_lost", 20), ("refund", 10), ("top_up", 7), ("rare", 1)):
        for i in range(count):
            texts.append(f"{label} example {i}")
            labels.append(label)
    return IntentData(texts, labels)


def test_intent_data_basics() -> None:
    data = IntentData(["a", "b", "c"], ["x", "y", "x"])

    assert len(data) == 3
    assert data.label_names == ["x", "y"]
    with pytest.raises(TrainingError, match="2 texts but 1 labels"):
        IntentData(["a", "b"], ["x"])


def test_split_keeps_every_label_in_train_and_holds_out_about_the_fraction() -> None:
    data = make_data()

    train, held = stratified_split(data, 0.2, seed=3)

    assert set(train.labels) == set(data.labels)  # even the label with one example
    assert Counter(held.labels) == {"card_lost": 4, "refund": 2, "top_up": 1}
    assert len(train) + len(held) == len(data)
    assert sorted(train.texts + held.texts) == sorted(data.texts)
    assert not set(train.texts) & set(held.texts)
    for text, label in zip(train.texts + held.texts, train.labels + held.labels, strict=True):
        assert text.startswith(label)  # texts stay with their labels


def test_split_holds_out_at_least_one_but_never_the_last_example() -> None:
    data = IntentData(["a1", "a2", "b1", "b2", "b3"], ["a", "a", "b", "b", "b"])

    train, held = stratified_split(data, 0.01, seed=0)
    assert Counter(held.labels) == {"a": 1, "b": 1}

    train, held = stratified_split(data, 0.99, seed=0)
    assert Counter(train.labels) == {"a": 1, "b": 1}


def test_split_is_deterministic_per_seed() -> None:
    data = make_data()

    a = stratified_split(data, 0.3, seed=1)
    b = stratified_split(data, 0.3, seed=1)
    c = stratified_split(data, 0.3, seed=2)

    assert a == b
    assert a[1].texts != c[1].texts


def test_split_keeps_original_order() -> None:
    data = make_data()

    train, held = stratified_split(data, 0.25, seed=9)

    position = {text: i for i, text in enumerate(data.texts)}
    assert [position[t] for t in train.texts] == sorted(position[t] for t in train.texts)
    assert [position[t] for t in held.texts] == sorted(position[t] for t in held.texts)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_csv(tmp_path: Path) -> None:
    data = load_csv(write(tmp_path, 'text,intent\nI lost my card,card_lost\n" refund, please ",refund\n'))

    assert data.texts == ["I lost my card", "refund, please"]
    assert data.labels == ["card_lost", "refund"]


def test_load_csv_column_order_and_extra_columns(tmp_path: Path) -> None:
    data = load_csv(write(tmp_path, "id,intent,text\n1,refund,money back\n"))

    assert (data.texts, data.labels) == (["money back"], ["refund"])


@pytest.mark.parametrize("header", ["text,label", "sentence,intent", "text", ""])
def test_load_csv_missing_columns(tmp_path: Path, header: str) -> None:
    with pytest.raises(TrainingError, match="`text` and `intent`"):
        load_csv(write(tmp_path, header + "\nhello,greet\n" if header else ""))


def test_load_csv_empty_cell_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match=r"data\.csv:3: empty text or intent"):
        load_csv(write(tmp_path, "text,intent\nhi,greet\n,greet\n"))


def test_load_csv_without_rows(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="no rows"):
        load_csv(write(tmp_path, "text,intent\n"))


def test_load_csv_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="does not exist"):
        load_csv(tmp_path / "nope.csv")
