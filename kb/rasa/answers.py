"""Choosing one answer per intent among what the rules and stories of a Rasa project say.

Deskmate answers an intent one way in every context, so the answers found in rules and stories
are ranked: a rule's answer (:data:`RULE`) before the first turn of a story (:data:`STORY`),
before a turn that depends on the conversation so far (:data:`CONTEXT`: a later turn of a story, a
rule with a ``condition:`` or ``conversation_start:``), before an answer to an interruption of a
form (:data:`INTERRUPTION`). Within a rank, the first in file order wins. Every answer that
differs from the one kept is a note naming its file and line, and so is a kept answer that Rasa
gives only in some context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.rasa.files import Report
from kb.rasa.flows import Step

RESPONSE, CUSTOM_ACTION, FORM = "response", "action", "form"
RULE, STORY, CONTEXT, INTERRUPTION = 0, 1, 2, 3  # how much an answer counts: the lowest wins


@dataclass(frozen=True)
class Answer:
    """What answers an intent (or completes a form), and where Rasa says so."""

    kind: str  # RESPONSE | CUSTOM_ACTION | FORM
    name: str  # the Rasa name: utter_x, action_x or the form
    file: Path
    line: int
    rank: int = RULE
    context: str = ""  # why it depends on the conversation so far (rank CONTEXT)

    def same(self, other: Answer) -> bool:
        return (self.kind, self.name) == (other.kind, other.name)

    @property
    def at(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Dialogue:
    answers: dict[str, Answer] = field(default_factory=dict)  # Rasa intent (a retrieval base too) -> answer
    done: dict[str, list[Answer]] = field(default_factory=dict)  # form -> what runs when it is complete, in order
    started: set[str] = field(default_factory=set)  # forms that some rule or story starts
    in_forms: set[str] = field(default_factory=set)  # intents of customer messages while a form runs
    stops: dict[str, dict[str, Any]] = field(default_factory=dict)  # form -> its stop question (Rasa names)


def choose_answers(candidates: dict[str, list[Answer]], report: Report) -> dict[str, Answer]:
    """The answer kept for each intent; the others, where they differ, are notes."""
    answers: dict[str, Answer] = {}
    for intent, found in candidates.items():
        ordered = sorted(found, key=lambda a: a.rank)  # stable: file order within a rank
        chosen = answers[intent] = ordered[0]
        if chosen.rank >= CONTEXT:
            report.note(
                chosen.file,
                chosen.line,
                f"`{intent}` is answered with `{chosen.name}` only {chosen.context}; Deskmate answers it this "
                "way in any context",
            )
        for other in ordered[1:]:
            if not other.same(chosen):
                report.note(other.file, other.line, _differs(intent, other, chosen))
    return answers


def choose_done(candidates: dict[str, list[tuple[Answer, list[Step]]]], report: Report) -> dict[str, list[Answer]]:
    """What runs when each form is complete: the chosen flow's actions and responses, in order."""
    done: dict[str, list[Answer]] = {}
    for form, found in candidates.items():
        (chosen, extras), *others = sorted(found, key=lambda c: c[0].rank)
        steps = [chosen]
        for step in extras:
            if step.name is None:
                continue
            kind = RESPONSE if step.name.startswith("utter_") else CUSTOM_ACTION
            steps.append(Answer(kind, step.name, chosen.file, step.line, chosen.rank))
        done[form] = steps
        for other, _ in others:
            if not other.same(chosen):
                report.note(
                    other.file,
                    other.line,
                    f"form `{form}` ends with `{other.name}` here and with `{chosen.name}` at {chosen.at}; "
                    f"Deskmate's `done` runs `{chosen.name}`",
                )
    return done


def _differs(intent: str, other: Answer, chosen: Answer) -> str:
    if other.rank == INTERRUPTION:
        return (
            f"`{intent}` is answered with `{other.name}` {other.context}; Deskmate answers an interruption as it "
            f"answers the intent anywhere, with `{chosen.name}` ({chosen.at}), then asks the form's question again"
        )
    if other.rank == CONTEXT:
        return (
            f"`{intent}` is answered with `{other.name}` {other.context}: Rasa remembers the conversation, Deskmate "
            f"answers `{intent}` the same way in any context, with `{chosen.name}` ({chosen.at})"
        )
    return (
        f"`{intent}` is answered with `{other.name}` here and with `{chosen.name}` at {chosen.at}; Deskmate "
        f"answers an intent one way: it keeps `{chosen.name}`"
    )
