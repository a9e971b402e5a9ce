"""Following ``FollowupAction`` chains, as Rasa does after a custom action.

Each step runs with the slots and history left by the steps before it. The chain stops when an
action asks for no follow-up, pauses the conversation (a handoff wins over everything else),
names an action that already ran in this chain (a loop), or after ``max_steps`` actions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.actions.calls import ActionCall
from bot.actions.results import ActionResult, followup, paused
from bot.actions.runners import ActionRunner

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChainResult(ActionResult):
    """All the steps' events and responses, in order; the helpers of ``bot.actions`` read it whole.

    ``followup`` events that were followed are left out of ``events``, so ``followup(result)`` is the
    follow-up that was *not* run (``pending``), if any. ``steps`` names the actions that ran.
    """

    steps: tuple[str, ...] = ()
    pending: str | None = None  # a follow-up left unrun: a loop, or max_steps reached
    stop_reason: str = "done"  # done | paused | loop | max_steps


async def run_chain(runner: ActionRunner, call: ActionCall, *, max_steps: int = 5) -> ChainResult:
    """Run ``call`` and the follow-ups it asks for; :class:`~bot.errors.ActionError` from any step
    propagates (the steps before it are lost, as their effects were never applied)."""
    if max_steps < 1:
        raise ValueError(f"max_steps must be at least 1, not {max_steps}")
    events: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []
    steps: list[str] = []
    while True:
        result = await runner.run(call)
        steps.append(call.name)
        responses += result.responses
        after = followup(result)
        stop = _stop_reason(result, after, steps, max_steps)
        if stop is not None or after is None:
            if stop in ("loop", "max_steps"):
                logger.warning(
                    "conversation %s: action chain %s stopped (%s) before %s",
                    call.sender_id,
                    " > ".join(steps),
                    stop,
                    after,
                )
            return ChainResult(
                events=[*events, *result.events],
                responses=responses,
                steps=tuple(steps),
                pending=after,
                stop_reason=stop or "done",
            )
        events += [event for event in result.events if event["event"] != "followup"]
        call = call.after(result, after)


def _stop_reason(result: ActionResult, after: str | None, steps: list[str], max_steps: int) -> str | None:
    if paused(result):
        return "paused"
    if after is None:
        return "done"
    if after in steps:
        return "loop"
    if len(steps) >= max_steps:
        return "max_steps"
    return None
