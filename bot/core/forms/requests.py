"""What a form turn asks of the service: a custom action to run, or a plain answer to give."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.core.policy import Decision
from kb.forms_model import Form

VALIDATE, ASK, DONE = "validate", "ask", "done"  # the purposes of a form's custom actions


@dataclass(frozen=True)
class RunAction:
    """Run custom action ``action`` for the form (``purpose``: validate | ask | done)."""

    action: str
    purpose: str
    form: Form
    requested_slot: str | None = None
    candidates: dict[str, Any] = field(default_factory=dict)  # validate: the values to check


@dataclass(frozen=True)
class AnswerInstead:
    """Answer the message by the policy's ``decision``, as if no form were active."""

    decision: Decision


Request = RunAction | AnswerInstead
