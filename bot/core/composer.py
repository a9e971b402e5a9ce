"""Reply texts: templates from the KB, retrieved past replies and the system messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.policy import Action, Decision
from bot.core.templates import choose
from kb.model import SYSTEM_DEFAULTS, Button, KnowledgeBase
from kb.placeholders import fill_known, known_slots


@dataclass(frozen=True)
class Reply:
    kind: str  # event kind: bot_reply | clarify | handoff
    text: str
    data: dict[str, Any] = field(default_factory=dict)


class Composer:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._labels = {intent.name: intent.label for intent in kb.intents}

    def label(self, intent: str) -> str:
        return self._labels.get(intent, intent.replace("_", " "))

    def greeting(self) -> Reply:
        return Reply("bot_reply", self.kb.system["greeting"], {"source": "system"})

    def system(self, name: str) -> str:
        """A system message of kb.yml (its default when the KB predates it)."""
        return self.kb.system.get(name) or SYSTEM_DEFAULTS[name]

    def named(
        self, name: str, *, turn: int, slots: Mapping[str, str] | None = None, buttons: tuple[Button, ...] = ()
    ) -> Reply | None:
        """The response ``name`` of responses.yml (a form's question or message), filled from ``slots``.

        ``buttons`` are offered when the chosen variation has none of its own (a yes/no question).
        None when the KB has no such response or no variation can be filled.
        """
        templates = self.kb.templates.get(name, ())
        rendered = choose(templates, slots or {}, turn=turn) if templates else None
        if rendered is None:
            return None
        data: dict[str, Any] = {"response": name}
        shown = rendered.buttons or buttons
        if shown:
            data["buttons"] = [b.to_dict() for b in shown]
        if rendered.used_slots:
            data["slots"] = sorted(rendered.used_slots)
        return Reply("bot_reply", rendered.text, data)

    def compose(
        self,
        decision: Decision,
        *,
        turn: int,
        slots: Mapping[str, str] | None = None,
        variation_scores: Mapping[str, tuple[float, ...]] | None = None,
    ) -> Reply:
        """The reply for ``decision``; ``turn`` rotates among a template's variations.

        A template's variations may use slots (``{order_id}``): the variations whose slots are all
        known are preferred, filled with the values (inserted literally); buttons come along.
        ``variation_scores`` (per intent, each variation's similarity to the message) picks the
        variation closest in meaning. A retrieved past reply's placeholders are filled from
        ``slots`` only, this conversation's own values; the policy sends no reply with one unknown.
        """
        meta: dict[str, Any] = {
            "rule": decision.rule,
            "intent": decision.intent,
            "confidence": round(decision.confidence, 4),
            "notes": {k: round(v, 4) for k, v in decision.notes.items()},
        }
        templates = self.kb.templates.get(decision.intent or "", ())
        if decision.action is Action.ANSWER and templates:
            scores = (variation_scores or {}).get(decision.intent or "")
            rendered = choose(templates, slots or {}, turn=turn, scores=scores)
            if rendered is not None:
                data: dict[str, Any] = {**meta, "source": "template", "response": decision.intent}
                if rendered.buttons:
                    data["buttons"] = [b.to_dict() for b in rendered.buttons]
                if rendered.used_slots:
                    data["slots"] = sorted(rendered.used_slots)
                return Reply("bot_reply", rendered.text, data)
        if decision.action in (Action.RETRIEVED, Action.GENERATE) and decision.retrieved is not None:
            hit = decision.retrieved
            known = known_slots(slots or {})
            if hit.sendable(known):
                data = {**meta, "source": "retrieved", "match": hit.source}
                if hit.placeholders:
                    data["slots"] = sorted(hit.placeholders)
                return Reply("bot_reply", fill_known(hit.reply, known), data)
            # never another customer's case: the policy checks this, the composer makes sure of it
            meta["withheld"] = hit.source
        if decision.action is Action.CLARIFY:
            options = [{"intent": name, "label": self.label(name)} for name in decision.options]
            return Reply("clarify", self.kb.system["clarify"], {**meta, "options": options})
        if decision.action is Action.HANDOFF:
            reason = decision.reason.value if decision.reason else "low_confidence"
            return Reply("handoff", self.kb.system["handoff"], {**meta, "reason": reason})
        return Reply("bot_reply", self.kb.system["fallback"], {**meta, "source": "fallback"})
