"""Import past support conversations into a KB folder's ``dialogues.jsonl``, de-identified.

Two input formats (see docs/kb-format.md, "Importing past conversations"):

- JSONL, one dialogue per line: ``{"id": ..., "turns": [{"speaker": ..., "text": ...}, ...]}``.
  Speakers may be aliases (:data:`SPEAKER_ALIASES`); without an ``id`` one is made from the content.
- CSV with a ``question,answer`` header: each row becomes a two-turn dialogue.

Every dialogue goes through the KB's :class:`~retrieval.privacy.masking.Deidentifier` (kb.yml's
``masking:``, its pattern entities and its own values; see
:func:`~kb.masking.load_deidentifier`): personal values become ``{kind}`` placeholders.
Dialogues whose de-identified turns repeat, case and spacing aside, one already imported or already
in the KB are dropped (earlier imports' ``[kind]`` marks compare as ``{kind}``). Any problem in the
input raises :class:`KBValidationError` naming the file, the line and the fix, and then nothing is
written; otherwise ``dialogues.jsonl`` is replaced atomically.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import KBIssue, KBValidationError
from kb.atomic import append_atomically
from kb.masking import load_deidentifier
from kb.model import Dialogue, Turn
from retrieval.privacy.masking import Deidentifier

DIALOGUES = "dialogues.jsonl"
SPEAKER_ALIASES = {
    "customer": "customer",
    "user": "customer",
    "agent": "agent",
    "assistant": "agent",
    "wizard": "agent",
}
JSONL_SUFFIXES = (".jsonl", ".ndjson")
CSV_SUFFIXES = (".csv",)
GENERATED_ID_PREFIX = "imp-"

_Key = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ImportSummary:
    """What an import did. ``masked`` counts the personal values replaced, by kind, in the imported dialogues."""

    read: int  # dialogues read from the input
    imported: int  # dialogues appended to dialogues.jsonl
    duplicates: int  # dialogues dropped: repeated in the input or already in the KB
    masked: dict[str, int]
    path: Path  # the dialogues.jsonl written (or left alone when nothing was new)


@dataclass(frozen=True)
class _Read:
    """A dialogue as read from a file, before de-identification."""

    line: int
    id: str | None
    turns: tuple[Turn, ...]


def import_dialogues(source: str | Path, kb: str | Path, *, deidentifier: Deidentifier | None = None) -> ImportSummary:
    """De-identify the dialogues of ``source`` (.jsonl or .csv) and append the new ones to ``kb``/dialogues.jsonl.

    ``deidentifier`` defaults to the KB's (:func:`~kb.masking.load_deidentifier`).
    Raises :class:`KBValidationError` listing every problem; nothing is written then.
    """
    root, source = Path(kb), Path(source)
    if not (root / "kb.yml").is_file():
        fix = "no such folder" if not root.is_dir() else "no kb.yml in this folder"
        raise KBValidationError([KBIssue(str(root), None, f"{fix}; pass the path of a KB folder with --kb")])
    deidentifier = deidentifier or load_deidentifier(root)
    issues: list[KBIssue] = []
    incoming = _read_source(source, issues)
    target = root / DIALOGUES
    existing = _read_jsonl(target, DIALOGUES, issues, require_id=True) if target.is_file() else []
    if issues:
        raise KBValidationError(issues)

    keys: set[_Key] = set()
    owners: dict[str, str] = {}  # dialogue id -> where it is, for error messages
    for dialogue in existing:
        keys.add(_key(_deidentified(deidentifier, dialogue.turns, Counter())))
        owners.setdefault(str(dialogue.id), f"{DIALOGUES} line {dialogue.line}")
    new: list[Dialogue] = []
    masked: Counter[str] = Counter()
    for dialogue in incoming:
        counts: Counter[str] = Counter()
        turns = _deidentified(deidentifier, dialogue.turns, counts)
        key = _key(turns)
        if key in keys:
            continue
        dialogue_id = dialogue.id or _generated_id(key)
        if dialogue_id in owners:
            issues.append(
                KBIssue(
                    str(source),
                    dialogue.line,
                    f"dialogue id `{dialogue_id}` is already used by a different dialogue ({owners[dialogue_id]}); "
                    "rename it, or remove `id` to get one made from the content",
                )
            )
            continue
        keys.add(key)
        owners[dialogue_id] = f"{source} line {dialogue.line}"
        new.append(Dialogue(dialogue_id, tuple(turns)))
        masked.update(counts)
    if issues:
        raise KBValidationError(issues)
    if new:
        append_atomically(target, [_dump(dialogue) for dialogue in new])
    return ImportSummary(len(incoming), len(new), len(incoming) - len(new), dict(masked), target)


def read_dialogues(source: str | Path) -> list[Dialogue]:
    """The dialogues of a .jsonl or .csv export as they are, not de-identified (for the privacy benchmark).

    Raises :class:`KBValidationError` listing every problem in the file.
    """
    issues: list[KBIssue] = []
    read = _read_source(Path(source), issues)
    if issues:
        raise KBValidationError(issues)
    return [Dialogue(d.id or _generated_id(_key(d.turns)), d.turns) for d in read]


def _deidentified(deidentifier: Deidentifier, turns: tuple[Turn, ...], counts: Counter[str]) -> tuple[Turn, ...]:
    """``turns`` de-identified together (a value found in one is masked in all); ``counts`` gets the values."""
    results = deidentifier.deidentify_all([turn.text for turn in turns])
    for result in results:
        counts.update(result.counts)
    return tuple(Turn(turn.speaker, result.text) for turn, result in zip(turns, results, strict=True))


def _read_source(source: Path, issues: list[KBIssue]) -> list[_Read]:
    """The dialogues of a .jsonl or .csv file; problems are added to ``issues``."""
    file = str(source)
    if not source.is_file():
        issues.append(KBIssue(file, None, "no such file; pass the path of a .jsonl or .csv export"))
        return []
    suffix = source.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return _read_jsonl(source, file, issues, require_id=False)
    if suffix in CSV_SUFFIXES:
        return _read_csv(source, file, issues)
    issues.append(
        KBIssue(
            file,
            None,
            f"unknown file type {suffix or '(none)'!r}; save one dialogue per line as .jsonl, "
            "or a table with a `question,answer` header as .csv",
        )
    )
    return []


def _read_text(path: Path, file: str, issues: list[KBIssue]) -> str | None:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        issues.append(KBIssue(file, None, "file is not UTF-8; save it as UTF-8"))
        return None


def _read_jsonl(path: Path, file: str, issues: list[KBIssue], *, require_id: bool) -> list[_Read]:
    text = _read_text(path, file, issues)
    dialogues: list[_Read] = []
    for number, line in enumerate((text or "").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            message = f"invalid JSON ({exc.msg} at column {exc.colno}); each line must be one JSON object"
            issues.append(KBIssue(file, number, message))
            continue
        dialogue = _parse_dialogue(obj, file, number, issues, require_id=require_id)
        if dialogue is not None:
            dialogues.append(dialogue)
    return dialogues


def _parse_dialogue(obj: Any, file: str, number: int, issues: list[KBIssue], *, require_id: bool) -> _Read | None:
    if not isinstance(obj, dict):
        issues.append(KBIssue(file, number, 'each line must be a JSON object like {"id": "d1", "turns": [...]}'))
        return None
    raw_id = obj.get("id")
    dialogue_id = str(raw_id).strip() if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) else None
    if raw_id is not None and dialogue_id is None:
        issues.append(KBIssue(file, number, f"`id` must be a string or a number, not {raw_id!r}"))
        return None
    if require_id and not dialogue_id:
        issues.append(KBIssue(file, number, "dialogue needs an `id` (string)"))
        return None
    turns_raw = obj.get("turns")
    if not isinstance(turns_raw, list) or not turns_raw:
        issues.append(KBIssue(file, number, "dialogue needs `turns`: a non-empty list of {speaker, text}"))
        return None
    turns: list[Turn] = []
    for index, turn in enumerate(turns_raw, start=1):
        if not isinstance(turn, dict):
            issues.append(KBIssue(file, number, f"turn {index} must be an object with `speaker` and `text`"))
            return None
        speaker = turn.get("speaker")
        role = SPEAKER_ALIASES.get(speaker.strip().lower()) if isinstance(speaker, str) else None
        if role is None:
            allowed = ", ".join(f'"{alias}"' for alias in SPEAKER_ALIASES)
            issues.append(KBIssue(file, number, f"turn {index} has speaker {speaker!r}; use one of {allowed}"))
            return None
        text = turn.get("text")
        if not isinstance(text, str) or not text.strip():
            issues.append(KBIssue(file, number, f"turn {index} needs a non-empty `text` (a string)"))
            return None
        turns.append(Turn(role, text.strip()))
    return _Read(number, dialogue_id or None, tuple(turns))


def _read_csv(path: Path, file: str, issues: list[KBIssue]) -> list[_Read]:
    text = _read_text(path, file, issues)
    if text is None:
        return []
    reader = csv.reader(io.StringIO(text, newline=""))
    dialogues: list[_Read] = []
    columns: dict[str, int] | None = None
    start = 1
    try:
        for row in reader:
            number, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if columns is None:
                columns = {name.strip().lower(): index for index, name in enumerate(row)}
                if "question" not in columns or "answer" not in columns:
                    found = ",".join(row)
                    message = f"the first line must be the header `question,answer` (found `{found}`); add or fix it"
                    issues.append(KBIssue(file, number, message))
                    return []
                continue
            question, answer = (_cell(row, columns[name]) for name in ("question", "answer"))
            if not question or not answer:
                empty = "question" if not question else "answer"
                message = f"the row has no {empty}; fill both `question` and `answer` or delete the row"
                issues.append(KBIssue(file, number, message))
                continue
            dialogues.append(_Read(number, None, (Turn("customer", question), Turn("agent", answer))))
    except csv.Error as exc:
        issues.append(KBIssue(file, reader.line_num, f"malformed CSV ({exc}); check the quotes on this line"))
    if columns is None and not issues:
        issues.append(KBIssue(file, 1, "the file is empty; start it with the header `question,answer`"))
    return dialogues


def _cell(row: list[str], index: int) -> str:
    return row[index].strip() if index < len(row) else ""


def _key(turns: tuple[Turn, ...]) -> _Key:
    """What makes two dialogues the same: their turns, case and spacing aside."""
    return tuple((turn.speaker, " ".join(turn.text.casefold().split())) for turn in turns)


def _generated_id(key: _Key) -> str:
    """A stable id made from the (de-identified) content, so that no personal data can be read back from it."""
    digest = hashlib.sha256(json.dumps(key, ensure_ascii=False).encode("utf-8")).hexdigest()
    return GENERATED_ID_PREFIX + digest[:12]


def _dump(dialogue: Dialogue) -> str:
    turns = [{"speaker": turn.speaker, "text": turn.text} for turn in dialogue.turns]
    return json.dumps({"id": dialogue.id, "turns": turns}, ensure_ascii=False)
