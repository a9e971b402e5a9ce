"""Retrieval pairs: a customer turn (with recent context) and the agent reply that followed it.

Past replies are knowledge, not scripts: at build time they are de-identified and marked
case-specific or persona (kb/build.py), and only general ones may be sent by the bot itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from retrieval.case_specific import is_case_specific
from retrieval.persona import claims_to_be_person


@dataclass(frozen=True)
class Pair:
    query: str  # the text that is embedded: customer turn with its context
    customer: str  # the customer turn alone
    reply: str  # the agent's reply, de-identified: personal values are ``{placeholders}``
    source: str  # where it came from, e.g. "dialogue:d0001#3" or "faq:12"
    # the reply reports an action done for that customer, or the state of their own case
    # (retrieval/case_specific.py): a suggestion for agents, never the bot's own answer
    case_specific: bool = False
    persona: bool = False  # the reply says its writer is a person (retrieval/persona.py): never the bot's


def join_context(context: Sequence[str], turn: str) -> str:
    """The embedded text for a turn and the turns before it (oldest first)."""
    return " | ".join([*context, turn])


def dialogue_pairs(dialogue_id: str, turns: Sequence[tuple[str, str]], *, context_turns: int = 2) -> list[Pair]:
    """Pairs from one dialogue given as (speaker, text); speakers "customer" and "agent"."""
    pairs: list[Pair] = []
    for index in range(len(turns) - 1):
        speaker, text = turns[index]
        next_speaker, reply = turns[index + 1]
        if speaker != "customer" or next_speaker != "agent":
            continue
        context = [t for _, t in turns[max(0, index - context_turns) : index]]
        pairs.append(Pair(join_context(context, text), text, reply, f"dialogue:{dialogue_id}#{index}"))
    return pairs


def deduplicate(pairs: Iterable[Pair]) -> list[Pair]:
    """Drop pairs whose (query, reply) repeats an earlier one, case and spacing aside."""
    seen: set[tuple[str, str]] = set()
    unique: list[Pair] = []
    for pair in pairs:
        key = (" ".join(pair.query.lower().split()), " ".join(pair.reply.lower().split()))
        if key not in seen:
            seen.add(key)
            unique.append(pair)
    return unique


def marked(pairs: Iterable[Pair]) -> list[Pair]:
    """``pairs`` with their replies marked case-specific or persona (run on de-identified replies)."""
    return [
        replace(pair, case_specific=is_case_specific(pair.reply), persona=claims_to_be_person(pair.reply))
        for pair in pairs
    ]
