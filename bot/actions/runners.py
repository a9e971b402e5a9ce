"""Running custom actions: the seam, the in-process runner and a scripted twin for tests.

:class:`InProcessActionRunner` imports a package of ``rasa_sdk.Action`` subclasses and runs them
through rasa-sdk's own ``ActionExecutor`` with the webhook payload, on a private event loop in
one worker thread: an action that blocks (``requests``, ``sqlite3``) never stalls the bot's loop,
and one that overruns its timeout is cancelled. :class:`~bot.actions.remote.RemoteActionRunner`
sends the same payload to a separate action server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionMissingDomainException, ActionNotFoundException

from bot.actions.calls import ActionCall
from bot.actions.results import ActionResult, parse_result
from bot.errors import ActionError

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0  # seconds; Rasa's own default for action calls is 5 s per request


class ActionRunner(Protocol):
    async def run(self, call: ActionCall) -> ActionResult:
        """Run ``call.name``; raises :class:`ActionError` saying what to check when it cannot."""
        ...

    async def close(self) -> None: ...


class InProcessActionRunner:
    """Runs the actions of ``package`` (e.g. ``"kb.demo.actions"``) inside this process.

    Only actions defined in ``package`` (or its submodules) are served, even though rasa-sdk
    registers every ``Action`` subclass imported in the process. Call :meth:`close` when done.
    """

    def __init__(self, package: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.package = package
        self.timeout = timeout
        self._executor = ActionExecutor()
        try:
            self._executor.register_package(package)
        except SystemExit as exc:  # rasa-sdk exits the process when the package cannot be imported
            raise ActionError(
                f"cannot import the action package `{package}` (rasa-sdk logged why); check that "
                f"`python -c 'import {package}'` works from the directory Deskmate runs in",
                reason="import",
            ) from exc
        self._executor.actions = {name: fn for name, fn in self._executor.actions.items() if _defined_in(fn, package)}
        if not self._executor.actions:
            logger.warning("action package %s defines no rasa_sdk.Action subclass", package)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def actions(self) -> list[str]:
        """The names of the actions this runner can run, sorted."""
        return sorted(self._executor.actions)

    async def run(self, call: ActionCall) -> ActionResult:
        if call.name not in self._executor.actions:
            known = ", ".join(self.actions) or "none"
            raise ActionError(
                f"no action named `{call.name}` in package `{self.package}` (it has: {known}); fix the action "
                "name in the KB, or add a rasa_sdk.Action subclass whose name() returns it",
                action=call.name,
                reason="not_found",
            )
        future = asyncio.run_coroutine_threadsafe(self._executor.run(dict(call.payload())), self._action_loop())
        try:
            answer = await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except TimeoutError as exc:
            raise ActionError(
                f"action `{call.name}` did not finish within {self.timeout:g} s and was cancelled; check what it "
                "waits for (a slow API or database), or give the runner a longer timeout",
                action=call.name,
                reason="timeout",
            ) from exc
        except (ActionExecutionRejection, ActionMissingDomainException, ActionNotFoundException) as exc:
            raise ActionError(
                f"action `{call.name}` refused to run: {exc}", action=call.name, reason="rejected"
            ) from exc
        except Exception as exc:
            logger.error("conversation %s: action %s raised", call.sender_id, call.name, exc_info=exc)
            raise ActionError(
                f"action `{call.name}` raised {type(exc).__name__}: {exc}; fix the action in package "
                f"`{self.package}` (the traceback is in the log)",
                action=call.name,
                reason="failed",
            ) from exc
        data = answer.model_dump() if answer is not None else None
        return parse_result(data, action=call.name, source=f"package `{self.package}`")

    async def close(self) -> None:
        """Cancel what is still running and stop the worker thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        cancelled = asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_cancel_all(), loop))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cancelled, self.timeout)
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join, self.timeout)
        if thread.is_alive():  # a blocking action ignores cancellation; the daemon thread ends with it
            logger.warning("an action of package %s is still running after close()", self.package)
        else:
            loop.close()

    def _action_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=f"actions-{self.package}", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop


class ScriptedActionRunner:
    """The in-memory twin: answers each action name with a fixed result, and records the calls."""

    def __init__(self, results: Mapping[str, ActionResult | ActionError]) -> None:
        self.results = dict(results)
        self.calls: list[ActionCall] = []

    async def run(self, call: ActionCall) -> ActionResult:
        self.calls.append(call)
        result = self.results.get(call.name)
        if result is None:
            raise ActionError(
                f"no scripted result for action `{call.name}`; add one to the runner's results",
                action=call.name,
                reason="not_found",
            )
        if isinstance(result, ActionError):
            raise result
        return result

    async def close(self) -> None:
        return None


def _defined_in(fn: Any, package: str) -> bool:
    """Whether a registered action (a bound ``Action.run`` or a function) comes from ``package``."""
    owner = getattr(fn, "__self__", None)
    module = type(owner).__module__ if owner is not None else str(getattr(fn, "__module__", ""))
    return module == package or module.startswith(package + ".")


async def _cancel_all() -> None:
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
