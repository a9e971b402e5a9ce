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
import importlib.util
import inspect
import logging
import os
import re
import sys
import threading
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionMissingDomainException, ActionNotFoundException
from rasa_sdk.utils import all_subclasses

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
    """Runs the actions of ``package`` (e.g. ``"kb.demo.actions"``, or a KB's ``actions`` folder, which
    need not be importable by name: ``kb/demo-zh/actions``) inside this process.

    Only actions defined in ``package`` (or its submodules) are served, even though rasa-sdk
    registers every ``Action`` subclass imported in the process: two KBs' packages may define
    actions of the same name. Call :meth:`close` when done.
    """

    def __init__(self, package: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.source = package
        self.timeout = timeout
        self._executor = ActionExecutor()
        try:
            package = self.package = import_folder(package) if is_folder(package) else package
            self._executor.register_package(package)
        except SystemExit as exc:  # rasa-sdk exits the process when the package cannot be imported
            raise ActionError(
                f"cannot import the action package `{package}` (rasa-sdk logged why); check that "
                f"`python -c 'import {package}'` works from the directory Deskmate runs in",
                reason="import",
            ) from exc
        self._executor.actions = {}
        for action in all_subclasses(Action):
            if _defined_in_module(action.__module__, package) and not inspect.isabstract(action):
                self._executor.register_action(action)
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
                f"no action named `{call.name}` in package `{self.source}` (it has: {known}); fix the action "
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
                f"`{self.source}` (the traceback is in the log)",
                action=call.name,
                reason="failed",
            ) from exc
        data = answer.model_dump() if answer is not None else None
        return parse_result(data, action=call.name, source=f"package `{self.source}`")

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


def _defined_in_module(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def is_folder(source: str) -> bool:
    """Whether ``source`` names a folder (``kb/demo-zh/actions``) rather than a package name."""
    return "/" in source or os.sep in source or Path(source).is_dir()


def import_folder(folder: str) -> str:
    """Import the package in ``folder`` (it has an ``__init__.py``) by its path; returns its module name.

    The name is made from the folder's path (``kb/demo-zh/actions`` -> ``deskmate_actions.kb_demo_zh_actions``),
    so two KBs' folders never share one.
    """
    path = Path(folder).resolve()
    init = path / "__init__.py"
    if not init.is_file():
        raise ActionError(
            f"cannot import the actions folder `{folder}`: it has no __init__.py; point DESKMATE_ACTIONS_PACKAGE "
            "at a Python package, or add the file",
            reason="import",
        )
    relative = path.relative_to(Path.cwd().resolve()) if path.is_relative_to(Path.cwd().resolve()) else path
    name = "deskmate_actions." + re.sub(r"\W+", "_", str(relative)).strip("_")
    if name in sys.modules:
        return name
    if "deskmate_actions" not in sys.modules:
        sys.modules["deskmate_actions"] = types.ModuleType("deskmate_actions")  # a namespace for these
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(path)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise ActionError(
            f"cannot import the actions folder `{folder}`: {type(exc).__name__}: {exc}; fix the actions",
            reason="import",
        ) from exc
    return name


async def _cancel_all() -> None:
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
