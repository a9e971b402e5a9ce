"""The conversation id in log lines: set in a context, kept per asyncio task, shown by the filter."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Iterator

import pytest

from bot.errors import ConfigError
from bot.ops.logcontext import (
    ConversationFilter,
    configure_logging,
    conversation_context,
    get_conversation,
    set_conversation,
)

logger = logging.getLogger("tests.logcontext")


@pytest.fixture
def lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The root logger configured by configure_logging, into a buffer (pytest's handlers set aside)."""
    root = logging.getLogger()
    level = root.level
    monkeypatch.setattr(root, "handlers", [])
    buffer = io.StringIO()
    configure_logging("info", stream=buffer)
    yield buffer
    root.setLevel(level)


def logged(buffer: io.StringIO) -> list[str]:
    return buffer.getvalue().splitlines()


def ids(buffer: io.StringIO) -> list[str]:
    """The conversation id of each line."""
    found = [re.search(r" \[([^\]]*)\] ", line) for line in logged(buffer)]
    return [match.group(1) if match else "?" for match in found]


def test_lines_carry_the_conversation_id_inside_the_context_and_a_dash_outside(lines: io.StringIO) -> None:
    logger.info("before")
    with conversation_context("c_1"):
        logger.info("turn handled")
        logging.getLogger("bot.service.chat").warning("from another module")
    logger.info("after")
    logger.debug("below the level")

    assert [line.split(" ", 2)[2] for line in logged(lines)] == [
        "INFO tests.logcontext [-] before",
        "INFO tests.logcontext [c_1] turn handled",
        "WARNING bot.service.chat [c_1] from another module",
        "INFO tests.logcontext [-] after",
    ]


def test_contexts_nest_and_an_explicit_value_wins(lines: io.StringIO) -> None:
    with conversation_context("c_outer"):
        with conversation_context("c_inner"):
            logger.info("inner")
        with conversation_context(None):
            logger.info("none")
        logger.info("outer", extra={"conversation": "c_given"})
        assert get_conversation() == "c_outer"
    assert get_conversation() is None

    assert ids(lines) == ["c_inner", "-", "c_given"]


async def test_each_asyncio_task_keeps_its_own_id(lines: io.StringIO) -> None:
    both_set = asyncio.Barrier(2)

    async def connection(conversation_id: str) -> None:
        set_conversation(conversation_id)  # for the rest of this task, as a connection handler does
        await both_set.wait()  # the other task has set its id meanwhile
        logger.info("message received")
        await asyncio.sleep(0)
        logger.info("turn handled")

    await asyncio.gather(connection("c_a"), connection("c_b"))
    logger.info("the server")

    found = ids(lines)
    assert sorted(found[:4]) == ["c_a", "c_a", "c_b", "c_b"]
    assert found[4] == "-"  # what the tasks set never leaked into the code that started them


async def test_tasks_and_threads_started_inside_a_context_inherit_the_id(lines: io.StringIO) -> None:
    with conversation_context("c_1"):
        task = asyncio.create_task(_log_later())
        await asyncio.to_thread(logger.info, "in a thread")
    await task
    logger.info("outside")

    assert ids(lines) == ["c_1", "c_1", "-"]


async def _log_later() -> None:
    await asyncio.sleep(0)
    logger.info("in a task")


def test_the_filter_alone_on_any_handler() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    with conversation_context("c_9"):
        assert ConversationFilter().filter(record)
    assert getattr(record, "conversation", None) == "c_9"


def test_an_unknown_level_says_which_ones_exist() -> None:
    with pytest.raises(ConfigError, match="use one of DEBUG, INFO, WARNING, ERROR, CRITICAL"):
        configure_logging("verbose")


def test_an_already_configured_root_logger_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    existing = logging.NullHandler()
    monkeypatch.setattr(root, "handlers", [existing])
    monkeypatch.setattr(root, "level", root.level)

    configure_logging("DEBUG", stream=io.StringIO())

    assert root.handlers == [existing]
