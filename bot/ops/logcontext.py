"""The conversation id in every log line: a context variable, a log filter and the root handler.

An adapter sets the id as soon as it knows which conversation it serves (``with
conversation_context(cid):``, or :func:`set_conversation` for the rest of a connection's task);
every line logged meanwhile, from any module, shows it::

    2025-05-01 12:00:00,000 INFO bot.service.chat [c_3f2a...] turn handled (reply=bot_reply ...)

Context variables follow asyncio: a task starts with a copy of its creator's context (so does
``asyncio.to_thread``), and what a task sets stays in that task. Lines logged outside any
conversation show ``-``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import TextIO

from bot.errors import ConfigError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(conversation)s] %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
NO_CONVERSATION = "-"

current_conversation: ContextVar[str | None] = ContextVar("deskmate_conversation", default=None)


def get_conversation() -> str | None:
    """The id of the conversation being served in this context, None outside any."""
    return current_conversation.get()


def set_conversation(conversation_id: str | None) -> Token[str | None]:
    """Tag this context's log lines with ``conversation_id`` until reset with the returned token.

    For a connection handler that learns its conversation midway: its task's context ends with it.
    """
    return current_conversation.set(conversation_id)


@contextmanager
def conversation_context(conversation_id: str | None) -> Iterator[None]:
    """Tag the log lines of the block with ``conversation_id`` (None: no conversation)."""
    token = current_conversation.set(conversation_id)
    try:
        yield
    finally:
        current_conversation.reset(token)


class ConversationFilter(logging.Filter):
    """Adds ``record.conversation``: the current conversation id, or ``-``.

    A value passed explicitly (``logger.info(..., extra={"conversation": cid})``) is kept.
    Attach it to a handler (not a logger) so that it sees the records of every logger.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "conversation"):
            record.conversation = current_conversation.get() or NO_CONVERSATION
        return True


def configure_logging(level: str, *, stream: TextIO | None = None) -> None:
    """Log to ``stream`` (default stderr) at ``level``, each line with its conversation id.

    Like :func:`logging.basicConfig`, it does nothing when the root logger has handlers already
    (an application embedding Deskmate, or pytest's log capture, configured logging).
    """
    name = level.upper()
    if name not in LEVELS:
        raise ConfigError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}")
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(ConversationFilter())
    root.addHandler(handler)
    root.setLevel(name)


def configure_cli_logging(level: str) -> None:
    """:func:`configure_logging` for a ``deskmate`` command, with the chatty libraries kept to warnings."""
    configure_logging(level)
    for noisy in ("websockets", "sentence_transformers", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
