"""Agent assist: the replies the bot would suggest to an agent for a customer message.

Pure: from what the models made of the message and the KB, up to ``limit`` suggestions, best
first. Candidates are the templates of the top intents (scored by the intent's probability; the
variation closest to the message) and the retrieved past agent replies (scored by their
similarity); the same text is offered once. Intents that hand off have no template and are skipped.

Past replies are de-identified: their ``{placeholders}`` are filled from this conversation's
slots only, and the ones without a value stay visible (``{order_id}``) for the agent to fill in;
a value from another conversation can never appear. A case-specific past reply (an action done
for another customer) is offered, marked, since the agent can do and then say it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bot.core.policy import Understanding
from bot.core.templates import choose
from kb.model import KnowledgeBase
from kb.placeholders import fill_known, known_slots


@dataclass(frozen=True)
class Suggestion:
    text: str
    source: str  # "template" | "retrieved"
    score: float
    intent: str | None = None
    match: str | None = None  # the retrieved pair's source, e.g. "dialogue:d12#3"
    placeholders: tuple[str, ...] = ()  # still to fill in by the agent, shown as ``{name}`` in ``text``
    case_specific: bool = False  # reports an action done for another customer: do it before saying it

    def to_dict(self) -> dict[str, Any]:
        empty = (None, (), False)  # by identity: a score of 0.0 stays
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if all(v is not e for e in empty)}


def suggest(
    understanding: Understanding, kb: KnowledgeBase, *, slots: Mapping[str, str] | None = None, limit: int = 3
) -> list[Suggestion]:
    """``slots`` fill the templates' ``{slot}`` placeholders; a variation needing an unknown slot is skipped."""
    known = known_slots(slots or {})
    candidates: list[Suggestion] = []
    for scored in understanding.prediction.ranking[:limit]:
        scores = understanding.variation_scores.get(scored.intent)
        rendered = choose(kb.templates.get(scored.intent, ()), known, turn=0, scores=scores)
        if rendered is not None:
            candidates.append(Suggestion(rendered.text, "template", round(scored.probability, 4), scored.intent))
    for hit in understanding.retrieved[:limit]:
        missing = tuple(sorted(hit.placeholders - known.keys()))
        text = fill_known(hit.reply, known)
        candidates.append(
            Suggestion(
                text,
                "retrieved",
                round(hit.score, 4),
                match=hit.source,
                placeholders=missing,
                case_specific=hit.case_specific,
            )
        )
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
