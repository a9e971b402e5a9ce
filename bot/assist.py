"""Agent assist: the replies the bot would suggest to an agent for a customer message.

Pure: from what the models made of the message and the KB, up to ``limit`` suggestions, best
first. Candidates are the templates of the top intents (scored by the intent's probability) and
the retrieved past agent replies (scored by their similarity); the same text is offered once.
Intents that hand off have no template and are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bot.policy import Understanding
from bot.templates import choose
from kb.model import KnowledgeBase


@dataclass(frozen=True)
class Suggestion:
    text: str
    source: str  # "template" | "retrieved"
    score: float
    intent: str | None = None
    match: str | None = None  # the retrieved pair's source, e.g. "dialogue:d12#3"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def suggest(
    understanding: Understanding, kb: KnowledgeBase, *, slots: Mapping[str, str] | None = None, limit: int = 3
) -> list[Suggestion]:
    """``slots`` fill the templates' ``{slot}`` placeholders; a variation needing an unknown slot is skipped."""
    candidates: list[Suggestion] = []
    for scored in understanding.prediction.ranking[:limit]:
        rendered = choose(kb.templates.get(scored.intent, ()), slots or {}, turn=0)
        if rendered is not None:
            candidates.append(Suggestion(rendered.text, "template", round(scored.probability, 4), scored.intent))
    for hit in understanding.retrieved[:limit]:
        candidates.append(Suggestion(hit.reply, "retrieved", round(hit.score, 4), match=hit.source))
    candidates.sort(key=lambda s: -s.score)
    seen: set[str] = set()
    chosen: list[Suggestion] = []
    for candidate in candidates:
        key = " ".join(candidate.text.lower().split())
        if key not in seen:
            seen.add(key)
            chosen.append(candidate)
        if len(chosen) == limit:
            break
    return chosen
