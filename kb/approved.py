"""The optional ``approved.jsonl`` of a KB folder: question/answer pairs learned from agents.

One JSON object per line (see docs/kb-format.md, "approved.jsonl")::

    {"id": "cand_...", "question": "...", "answer": "...", "agent": "maria",
     "approved_at": 1718000000.0, "conversation_id": "c_..."}

An admin approving a candidate (bot/service/candidates.py) appends a line with :func:`append_approved`;
the loader reads the file with :func:`parse_approved`, and each pair becomes a retrieval pair at
the next build. The texts were de-identified when the candidate was recorded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.errors import KBIssue, KBValidationError
from kb.atomic import append_atomically, locked
from kb.model import ApprovedPair

APPROVED = "approved.jsonl"
EXAMPLE = '{"id": "a1", "question": "...", "answer": "..."}'


def parse_approved(path: Path, issues: list[KBIssue]) -> list[ApprovedPair]:
    """The pairs of ``path`` (none when it does not exist); problems are added to ``issues``."""
    file = path.name
    if not path.is_file():
        return []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        issues.append(KBIssue(file, None, "file is not UTF-8; save it as UTF-8"))
        return []
    pairs: list[ApprovedPair] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            message = f"invalid JSON ({exc.msg} at column {exc.colno}); each line must be one JSON object"
            issues.append(KBIssue(file, number, message))
            continue
        pair = _parse_pair(obj, file, number, issues)
        if pair is None:
            continue
        if pair.id in seen:
            message = f"approved id `{pair.id}` is used twice (first on line {seen[pair.id]}); remove one"
            issues.append(KBIssue(file, number, message))
            continue
        seen[pair.id] = number
        pairs.append(pair)
    return pairs


def append_approved(kb_root: str | Path, pair: ApprovedPair) -> bool:
    """Append ``pair`` to ``kb_root``/approved.jsonl, replacing the file atomically.

    Returns False, writing nothing, when the file already holds the id or the same question and
    answer (case and spacing aside). Raises :class:`KBValidationError` when the file has problems:
    fix them first, since the next KB reload would refuse them anyway.
    """
    path = Path(kb_root) / APPROVED
    # replicas sharing the KB folder approve at once: one read-modify-write at a time across processes
    with locked(Path(kb_root) / f".{APPROVED}.lock"):
        issues: list[KBIssue] = []
        existing = parse_approved(path, issues)
        if issues:
            raise KBValidationError(issues)
        key = same_pair_key(pair.question, pair.answer)
        if any(e.id == pair.id or same_pair_key(e.question, e.answer) == key for e in existing):
            return False
        append_atomically(path, [dump_approved(pair)])
        return True


def dump_approved(pair: ApprovedPair) -> str:
    """``pair`` as one line of approved.jsonl (without the newline)."""
    obj = {
        "id": pair.id,
        "question": pair.question,
        "answer": pair.answer,
        "agent": pair.agent,
        "approved_at": pair.approved_at,
        "conversation_id": pair.conversation_id,
    }
    return json.dumps(obj, ensure_ascii=False)


def same_pair_key(question: str, answer: str) -> tuple[str, str]:
    """What makes two approved pairs the same: their question and answer, case and spacing aside."""
    return " ".join(question.casefold().split()), " ".join(answer.casefold().split())


def _parse_pair(obj: Any, file: str, number: int, issues: list[KBIssue]) -> ApprovedPair | None:
    if not isinstance(obj, dict):
        issues.append(KBIssue(file, number, f"each line must be a JSON object like {EXAMPLE}"))
        return None
    problems: list[str] = []
    raw_id = obj.get("id")
    pair_id = str(raw_id).strip() if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) else ""
    if not pair_id:
        problems.append("needs an `id` (a string)")
    texts: dict[str, str] = {}
    for key in ("question", "answer"):
        value = obj.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"needs a non-empty `{key}` (a string)")
        else:
            texts[key] = value.strip()
    for key in ("agent", "conversation_id"):
        if obj.get(key) is not None and not isinstance(obj[key], str):
            problems.append(f"`{key}` must be a string or null, not {obj[key]!r}")
    approved_at = obj.get("approved_at")
    if approved_at is not None and (isinstance(approved_at, bool) or not isinstance(approved_at, (int, float))):
        problems.append(f"`approved_at` must be a number (seconds since 1970) or null, not {approved_at!r}")
    if problems:
        issues.append(KBIssue(file, number, "approved entry " + "; ".join(problems)))
        return None
    return ApprovedPair(
        id=pair_id,
        question=texts["question"],
        answer=texts["answer"],
        agent=obj.get("agent"),
        approved_at=None if approved_at is None else float(approved_at),
        conversation_id=obj.get("conversation_id"),
    )
