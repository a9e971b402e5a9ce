"""Grounding: the passages a generated reply may use, and the chat messages built from them.

The caller picks the passages (past agent replies, FAQ answers) and decides, with
:func:`grounding_is_strong`, whether they are good enough to generate from at all; the prompt
tells the model to answer only from them, briefly, and to say it does not know otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.generation.base import ChatMessage

MAX_PASSAGE_CHARS = 700

# SmolLM2-135M kept to the reference answers more often (on a handful of shop questions) when they
# sat quoted in the user turn, right before the question, than in the system prompt.
SYSTEM_PROMPT = """\
You are the customer support assistant of {shop_name}. Answer the customer's question using only \
the reference answers, which {shop_name}'s support agents and FAQ gave before. Be brief: one to \
three sentences, in the customer's language. If the reference answers do not answer the question, \
say that you do not know and offer to pass the customer to a human agent. Never make up order \
details, prices, dates or policies."""

USER_PROMPT = """\
Reference answers:
{passages}

Customer's question: {question}"""


@dataclass(frozen=True)
class Passage:
    """A text the model may draw on: ``source`` says where it comes from, ``score`` how well it matches."""

    text: str
    source: str
    score: float


@dataclass(frozen=True)
class Grounding:
    """A customer's question and the passages picked to answer it."""

    question: str
    passages: list[Passage] = field(default_factory=list)


def usable_passages(grounding: Grounding, *, limit: int | None = None) -> list[Passage]:
    """Non-empty passages, best score first, each text once; at most ``limit``."""
    seen: set[str] = set()
    kept: list[Passage] = []
    for passage in sorted(grounding.passages, key=lambda p: p.score, reverse=True):
        key = _one_line(passage.text).casefold()
        if not key or key in seen:
            continue
        seen.add(key)
        kept.append(passage)
        if limit is not None and len(kept) == limit:
            break
    return kept


def grounding_is_strong(grounding: Grounding, *, min_score: float, min_passages: int = 1) -> bool:
    """Whether at least ``min_passages`` distinct passages score ``min_score`` or more for a real question.

    Below that, generate nothing: send the template or retrieved reply, or hand off.
    """
    if not grounding.question.strip():
        return False
    good = [p for p in usable_passages(grounding) if p.score >= min_score]
    return len(good) >= min_passages


def build_messages(
    grounding: Grounding,
    *,
    shop_name: str,
    max_passages: int = 4,
    max_passage_chars: int = MAX_PASSAGE_CHARS,
) -> list[ChatMessage]:
    """The instructions as the system prompt; the best ``max_passages`` passages, then the question, as the user's.

    Passages are flattened to one line each, quoted, and cut at ``max_passage_chars`` so a small
    model's context holds them.
    """
    if max_passages < 1:
        raise ValueError(f"max_passages must be at least 1, not {max_passages}")
    passages = usable_passages(grounding, limit=max_passages)
    quoted = "\n".join(f'"{_shorten(_one_line(p.text), max_passage_chars)}"' for p in passages) or "(none)"
    return [
        {"role": "system", "content": SYSTEM_PROMPT.format(shop_name=shop_name.strip() or "the shop")},
        {"role": "user", "content": USER_PROMPT.format(passages=quoted, question=_one_line(grounding.question))},
    ]


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:") + "…"
