"""Rasa SDK custom actions, run in-process or on a Rasa action server.

::

    call = ActionCall.from_turns("action_order_status", conversation_id,
                                 slots={"order_id": "PC-123456"},
                                 latest=latest_message("where is it?", intent="order_status", confidence=0.93))
    runner = InProcessActionRunner("kb.demo.actions")      # or RemoteActionRunner("http://localhost:5055")
    result = await run_chain(runner, call)                  # ActionError says what to check on failure
    slot_updates(result), paused(result), messages(result)  # what the conversation applies and sends

Modules: ``tracker`` (Rasa tracker and domain dicts), ``calls`` (:class:`ActionCall`, the webhook
payload), ``results`` (:class:`ActionResult` and the helpers that read it), ``runners`` (the
:class:`ActionRunner` seam, in-process and scripted), ``remote`` (the webhook client), ``chain``.
"""

from __future__ import annotations

from bot.actions.calls import ActionCall, WebhookPayload
from bot.actions.chain import ChainResult, run_chain
from bot.actions.remote import RemoteActionRunner
from bot.actions.results import (
    ActionMessage,
    ActionResult,
    Button,
    followup,
    messages,
    parse_result,
    paused,
    slot_updates,
)
from bot.actions.runners import DEFAULT_TIMEOUT, ActionRunner, InProcessActionRunner, ScriptedActionRunner
from bot.actions.tracker import (
    LatestMessage,
    TrackerState,
    Turn,
    build_domain,
    build_tracker,
    latest_message,
    tracker_state,
    turn_events,
)
from bot.errors import ActionError

__all__ = [
    "DEFAULT_TIMEOUT",
    "ActionCall",
    "ActionError",
    "ActionMessage",
    "ActionResult",
    "ActionRunner",
    "Button",
    "ChainResult",
    "InProcessActionRunner",
    "LatestMessage",
    "RemoteActionRunner",
    "ScriptedActionRunner",
    "TrackerState",
    "Turn",
    "WebhookPayload",
    "build_domain",
    "build_tracker",
    "followup",
    "latest_message",
    "messages",
    "parse_result",
    "paused",
    "run_chain",
    "slot_updates",
    "tracker_state",
    "turn_events",
]
