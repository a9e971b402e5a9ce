"""A tiny STAR-shaped dialogue file written for the tests (hand-made; no STAR rows)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

NAMES = [
    "Ann Lee",
    "Bo Chen",
    "Cai Diaz",
    "Dee Evans",
    "Eli Fox",
    "Fay Gupta",
    "Gus Hall",
    "Ida Ito",
    "Jo Kim",
    "Kit Lowe",
]


def turn(speaker: str, text: str, label: str | None = None) -> dict[str, Any]:
    return {"speaker": speaker, "text": text, "action_label": label}


def balance_dialogue(dialogue_id: int, name: str) -> dict[str, Any]:
    """A bank-balance chat: six labelled exchanges and one free-text agent reply."""
    return {
        "dialogue_id": dialogue_id,
        "completion_level": "Complete",
        "turns": [
            turn("user", "hi there"),
            turn("agent", "Hello, how can I help you today?", "hello"),
            turn("user", "I would like to know my account balance"),
            turn("agent", "Sure. What is your full name?", "ask_name"),
            turn("user", name),
            turn("agent", "Thanks. And your account number?", "ask_account_number"),
            turn("user", f"it is {1000 + dialogue_id}"),
            turn("user", "the checking one"),
            turn("agent", "one moment please"),  # free text: no label
            turn("user", "ok"),
            turn("agent", "Your balance is 120 dollars.", "inform_balance"),
            turn("user", "great, that is all"),
            turn("agent", "Is there anything else I can do?", "anything_else"),
            turn("user", "no thanks, bye"),
            turn("agent", "Goodbye and have a nice day!", "goodbye_1"),
        ],
    }


def write_star(path: Path, dialogues: list[dict[str, Any]] | None = None) -> Path:
    """Write ``dialogues`` (default: ten balance chats, ids 1..10) as gzipped JSON lines."""
    rows = dialogues if dialogues is not None else [balance_dialogue(i, n) for i, n in enumerate(NAMES, start=1)]
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    return path
