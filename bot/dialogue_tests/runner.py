"""Playing conversation tests through a chat service, in-process: no server, no socket.

Each conversation gets a fresh service from ``make_chat`` (in production a
:class:`~bot.service.chat.ChatService` over an in-memory store and the in-process bus; in tests any twin
with the same three calls) and a fresh session on it. Every step is one customer message; what
the service stored for it is checked against the step (:mod:`bot.dialogue_tests.matching`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.core.events import BOT_REPLY, CLARIFY, CUSTOMER_MESSAGE, StoredEvent
from bot.dialogue_tests.matching import Observed, check, observe
from bot.dialogue_tests.model import ConversationTest, Step
from bot.errors import DeskmateError

if TYPE_CHECKING:
    from bot.service.chat import Session
    from bot.storage.store import Store

logger = logging.getLogger(__name__)


class Chat(Protocol):
    """What the runner needs of :class:`~bot.service.chat.ChatService`."""

    @property
    def store(self) -> Store: ...

    async def open_session(self, token: str | None) -> Session: ...

    async def customer_message(
        self, conversation_id: str, *, client_id: str, text: str, intent: str | None = None
    ) -> tuple[bool, list[StoredEvent]]: ...

    async def close(self) -> None: ...


ChatFactory = Callable[[], Chat]


@dataclass(frozen=True)
class StepResult:
    number: int  # 1-based, within its conversation
    step: Step
    failures: tuple[str, ...]
    observed: Observed | None  # None: the turn did not run
    sent: str | None = None  # the text sent (a button's title)
    intent: str | None = None  # the intent sent with it (a button's)

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class ConversationResult:
    test: ConversationTest
    steps: tuple[StepResult, ...]

    @property
    def passed(self) -> bool:
        return all(step.passed for step in self.steps)


@dataclass(frozen=True)
class RunResult:
    conversations: tuple[ConversationResult, ...]

    @property
    def steps(self) -> int:
        return sum(len(c.steps) for c in self.conversations)

    @property
    def failed_steps(self) -> list[tuple[ConversationResult, StepResult]]:
        return [(c, s) for c in self.conversations for s in c.steps if not s.passed]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.conversations)


async def run_tests(tests: Sequence[ConversationTest], make_chat: ChatFactory) -> RunResult:
    """Play every conversation of ``tests``, one after the other."""
    return RunResult(tuple([await run_conversation(test, make_chat) for test in tests]))


async def run_conversation(test: ConversationTest, make_chat: ChatFactory) -> ConversationResult:
    chat = make_chat()
    results: list[StepResult] = []
    try:
        conversation_id, history = await _fresh_session(chat)
        for number, step in enumerate(test.steps, 1):
            problems: list[str] = []
            text, intent = step.text, None
            if step.button is not None:
                text, intent, problem = click(history, step.button)
                if problem:
                    problems.append(problem)
            assert text is not None
            try:
                _, events = await chat.customer_message(
                    conversation_id, client_id=f"test-{number}", text=text, intent=intent
                )
            except DeskmateError as exc:
                results.append(StepResult(number, step, (*problems, f"the turn failed: {exc}"), None, text, intent))
                results += [
                    StepResult(later, s, (f"not played: step {number} failed",), None)
                    for later, s in enumerate(test.steps[number:], number + 1)
                ]
                break
            observed = observe(history, events, chosen_intent=intent)
            results.append(StepResult(number, step, (*problems, *check(step.expect, observed)), observed, text, intent))
            history = [*history, *events]
            if step.restart:
                conversation_id, history = await _fresh_session(chat)
    finally:
        await chat.close()
    result = ConversationResult(test, tuple(results))
    failed = sum(not s.passed for s in result.steps)
    logger.info("conversation test at %s: %d steps, %d failed", test.where, len(result.steps), failed)
    return result


async def _fresh_session(chat: Chat) -> tuple[str, list[StoredEvent]]:
    session = await chat.open_session(None)
    return session.conversation_id, await chat.store.events(session.conversation_id)


def click(history: Sequence[StoredEvent], title: str) -> tuple[str, str | None, str | None]:
    """The text and intent a click on ``title`` sends, and a problem when the bot offered no such button.

    The button is looked for in the bot's last answer (its messages since the customer's last
    message that got any), latest first; a clarification's options are buttons too. Without one,
    the title is sent as typed text and the step fails.
    """
    offered = last_buttons(history)
    for exact in (True, False):
        for button in offered:
            shown = str(button.get("title", ""))
            if shown == title if exact else " ".join(shown.split()).casefold() == " ".join(title.split()).casefold():
                intent = button.get("intent")
                return shown, str(intent) if intent else None, None
    titles = ", ".join(repr(str(b.get("title"))) for b in offered) or "none"
    return title, None, f"button: no button {title!r} in the bot's last answer (buttons: {titles}); sent it as text"


def last_buttons(history: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """The buttons of the bot's last answer, latest message first."""
    buttons: list[dict[str, Any]] = []
    answered = False
    for event in reversed(history):
        if event.kind == CUSTOMER_MESSAGE and answered:
            break
        if event.kind == BOT_REPLY:
            answered = True
            buttons += [b for b in event.data.get("buttons", ()) if isinstance(b, dict)]
        elif event.kind == CLARIFY:
            answered = True
            options = event.data.get("options", ())
            buttons += [{"title": o.get("label"), "intent": o.get("intent")} for o in options if isinstance(o, dict)]
    return buttons
