"""Conversation tests: scripted customer messages played through the real chat service, in-process.

::

    tests = load_tests([Path("kb/demo/tests")])                  # ConversationFileError: file, line, fix
    result = await run_tests(tests, lambda: ChatService(store=InMemoryStore(), bus=InProcessBus(), brain=brain))
    print(text_report(result))                                   # failing steps, then the summary

Modules: ``model`` (conversations, steps, expectations), ``deskmate_format`` and ``rasa_stories``
(the two file formats, see docs/testing.md), ``files`` (reading files and folders), ``matching``
(what a turn's events came to, and the checks), ``runner`` (playing them), ``report``.
"""

from __future__ import annotations

from bot.dialogue_tests.files import expand_paths, load_tests
from bot.dialogue_tests.matching import Observed, Produced, check, observe
from bot.dialogue_tests.model import (
    ConversationTest,
    Expect,
    ExpectedReply,
    Step,
)
from bot.dialogue_tests.report import json_report, summary, text_report, write_json
from bot.dialogue_tests.runner import Chat, ConversationResult, RunResult, StepResult, run_conversation, run_tests
from bot.errors import ConversationFileError, FileIssue

__all__ = [
    "Chat",
    "ConversationFileError",
    "ConversationResult",
    "ConversationTest",
    "Expect",
    "ExpectedReply",
    "FileIssue",
    "Observed",
    "Produced",
    "RunResult",
    "Step",
    "StepResult",
    "check",
    "expand_paths",
    "json_report",
    "load_tests",
    "observe",
    "run_conversation",
    "run_tests",
    "summary",
    "text_report",
    "write_json",
]
