"""Intent training data: texts with labels, CSV loading and a stratified split."""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.errors import TrainingError


@dataclass(frozen=True)
class IntentData:
    texts: list[str]
    labels: list[str]

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise TrainingError(f"{len(self.texts)} texts but {len(self.labels)} labels; they must pair up")

    @property
    def label_names(self) -> list[str]:
        """Labels in order of first appearance."""
        return list(dict.fromkeys(self.labels))

    def __len__(self) -> int:
        return len(self.texts)


def load_csv(path: str | Path) -> IntentData:
    """Read a `text,intent` CSV (header required), as BANKING77 ships it."""
    file = Path(path)
    if not file.is_file():
        raise TrainingError(f"{file} does not exist; pass a CSV with columns text,intent")
    texts: list[str] = []
    labels: list[str] = []
    with file.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"text", "intent"} <= set(reader.fieldnames):
            raise TrainingError(f"{file}: the header must name the columns `text` and `intent`")
        for line, row in enumerate(reader, start=2):
            text, intent = (row.get("text") or "").strip(), (row.get("intent") or "").strip()
            if not text or not intent:
                raise TrainingError(f"{file}:{line}: empty text or intent; fill both columns or remove the row")
            texts.append(text)
            labels.append(intent)
    if not texts:
        raise TrainingError(f"{file} has no rows")
    return IntentData(texts, labels)


def stratified_split(data: IntentData, fraction: float, *, seed: int) -> tuple[IntentData, IntentData]:
    """Hold out about ``fraction`` of each label (at least one, never a label's last example)."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(data.labels):
        by_label[label].append(index)
    rng = random.Random(seed)
    held: list[int] = []
    for indices in by_label.values():
        shuffled = indices[:]
        rng.shuffle(shuffled)
        count = min(len(shuffled) - 1, max(1, round(len(shuffled) * fraction)))
        held.extend(shuffled[:count])
    held_set = set(held)
    keep = [i for i in range(len(data)) if i not in held_set]
    return _subset(data, keep), _subset(data, sorted(held))


def _subset(data: IntentData, indices: Sequence[int]) -> IntentData:
    return IntentData([data.texts[i] for i in indices], [data.labels[i] for i in indices])
