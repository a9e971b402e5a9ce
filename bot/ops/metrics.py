"""Prometheus metrics for ``/metrics``, counted from what the conversation store actually keeps.

:class:`Metrics` holds its own registry, never the process-global one, so that several servers
can live in one process (the tests start many). :class:`ObservedStore` wraps any
:class:`~bot.storage.store.Store` and counts the events appended through it: what was stored is what
happened, whichever adapter or replica produced it. :meth:`Metrics.render` answers a scrape.

Metrics (all ``deskmate_``)::

    customer_messages_total              customer messages stored (a resent message once)
    bot_replies_total{kind}              template | retrieved | generated | action | fallback |
                                         system (the greeting) | clarify | handoff | other
    handoffs_total{reason}               low_confidence | explicit_request | repeated_failure |
                                         ambiguous | action | other
    agent_messages_total                 agent messages stored
    feedback_total{value}                customers' thumbs on bot answers: up | down
    surveys_total{score}                 customers' scores of closed chats: 1 to 5
    queue_length                         conversations waiting for an agent (read at scrape time)
    open_connections{role}               open websockets: customer | agent | admin
    reply_latency_seconds                customer message stored -> the bot's answer to it stored
    intent_confidence                    top probability of the ranking behind each bot answer
    store_errors_total{operation}        StoreError raised by the store, per Store method
    store_conflicts_total                appends refused because another replica appended first
    kb_build_info{build_id}              the KB build being served
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import choose_encoder

from bot.core.events import (
    AGENT_MESSAGE,
    BOT_REPLY,
    CLARIFY,
    CUSTOMER_MESSAGE,
    FEEDBACK,
    HANDOFF,
    SURVEY,
    NewEvent,
    StoredEvent,
)
from bot.core.feedback import SCORES, VALUES
from bot.core.policy import HandoffReason
from bot.errors import ConflictError, StoreError
from bot.storage.reloads import ReloadRecord
from bot.storage.store import ConversationSummary, Store

logger = logging.getLogger(__name__)

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

ROLES = ("customer", "agent", "admin")
REPLY_SOURCES = ("template", "retrieved", "generated", "action", "fallback", "system")
REPLY_KINDS = (*REPLY_SOURCES, CLARIFY, HANDOFF, "other")
HANDOFF_REASONS = (*(reason.value for reason in HandoffReason), "other")
ANSWER_KINDS = (BOT_REPLY, CLARIFY, HANDOFF)  # what the bot says to the customer
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
WAITING_FOR_AGENT = "WAITING_FOR_AGENT"


def reply_kind(event: StoredEvent) -> str | None:
    """The ``kind`` label of a bot answer (its source for a ``bot_reply``), None for other events."""
    if event.kind in (CLARIFY, HANDOFF):
        return event.kind
    if event.kind == BOT_REPLY:
        source = event.data.get("source")
        return source if source in REPLY_SOURCES else "other"
    return None


def handoff_reason(event: StoredEvent) -> str:
    reason = event.data.get("reason")
    return reason if reason in HANDOFF_REASONS else "other"


def top_probability(event: StoredEvent) -> float | None:
    """The top ``p`` of the ranking a bot answer carries, None when it has none (the greeting)."""
    ranking = event.data.get("ranking")
    if not isinstance(ranking, list) or not ranking or not isinstance(ranking[0], dict):
        return None
    p = ranking[0].get("p")
    return float(p) if isinstance(p, int | float) else None


class Metrics:
    """Deskmate's metrics, in a registry of their own."""

    def __init__(self, *, build_id: str | None = None) -> None:
        self.registry = registry = CollectorRegistry()
        self.customer_messages = Counter(
            "deskmate_customer_messages", "Customer messages stored (a resent message counts once).", registry=registry
        )
        self.bot_replies = Counter(
            "deskmate_bot_replies",
            "Bot answers stored, by kind (a bot_reply's source, clarify, handoff).",
            ["kind"],
            registry=registry,
        )
        self.handoffs = Counter("deskmate_handoffs", "Handoffs to a person, by reason.", ["reason"], registry=registry)
        self.agent_messages = Counter("deskmate_agent_messages", "Agent messages stored.", registry=registry)
        self.feedback = Counter("deskmate_feedback", "Customers' thumbs on bot answers.", ["value"], registry=registry)
        self.surveys = Counter("deskmate_surveys", "Customers' scores of closed chats, 1 to 5.", ["score"], registry=registry)
        self.queue_length = Gauge(
            "deskmate_queue_length",
            "Conversations waiting for an agent (read from the store at scrape time).",
            registry=registry,
        )
        self.connections = Gauge(
            "deskmate_open_connections", "Open websocket connections, by role.", ["role"], registry=registry
        )
        self.reply_latency = Histogram(
            "deskmate_reply_latency_seconds",
            "Seconds from a customer message being stored to the bot's answer to it being stored.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.intent_confidence = Histogram(
            "deskmate_intent_confidence",
            "Top intent probability of the ranking behind each bot answer.",
            buckets=CONFIDENCE_BUCKETS,
            registry=registry,
        )
        self.store_errors = Counter(
            "deskmate_store_errors",
            "Store calls that failed with a StoreError, by Store method.",
            ["operation"],
            registry=registry,
        )
        self.store_conflicts = Counter(
            "deskmate_store_conflicts", "Appends refused because another replica appended first.", registry=registry
        )
        self.kb_build = Info("deskmate_kb_build", "The KB build being served.", registry=registry)
        # every known label value from the start, so rate() and dashboards see zeros, not gaps
        for kind in REPLY_KINDS:
            self.bot_replies.labels(kind)
        for reason in HANDOFF_REASONS:
            self.handoffs.labels(reason)
        for role in ROLES:
            self.connections.labels(role)
        for value in VALUES:
            self.feedback.labels(value)
        for score in SCORES:
            self.surveys.labels(str(score))
        if build_id is not None:
            self.set_build(build_id)

    # Connections -----------------------------------------------------------------------------

    def connection_opened(self, role: str) -> None:
        self.connections.labels(_role(role)).inc()

    def connection_closed(self, role: str) -> None:
        self.connections.labels(_role(role)).dec()

    @contextmanager
    def connection(self, role: str) -> Iterator[None]:
        """Count a connection open for the duration of the block (closed however the block ends)."""
        self.connection_opened(role)
        try:
            yield
        finally:
            self.connection_closed(role)

    # KB build --------------------------------------------------------------------------------

    def set_build(self, build_id: str) -> None:
        """The KB build now served (at startup, and after each reload or rollback swaps it)."""
        self.kb_build.info({"build_id": build_id})

    # Scrapes ---------------------------------------------------------------------------------

    async def render(self, store: Store | None = None, *, accept: str = "", timeout: float = 2.0) -> tuple[bytes, str]:
        """The metrics as ``(body, content_type)`` for a scrape.

        ``store`` refreshes the queue length first (within ``timeout`` seconds; if the store fails
        the rest is still rendered, with the last known length). ``accept`` is the scraper's
        Accept header: the Prometheus text format unless it asks for OpenMetrics.
        """
        if store is not None:
            try:
                async with asyncio.timeout(timeout):
                    waiting = await store.conversations([WAITING_FOR_AGENT])
            except StoreError as exc:
                logger.warning("metrics: could not read the queue length from the store (%s)", exc)
            except TimeoutError:
                logger.warning("metrics: the store did not give the queue length within %.1f s", timeout)
            else:
                self.queue_length.set(len(waiting))
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


def _role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown connection role {role!r}; use one of {', '.join(ROLES)}")
    return role


class ObservedStore:
    """A :class:`~bot.storage.store.Store` that counts what the store it wraps keeps; it delegates everything.

    Counts come from the events ``append`` returns, skipping the stored original a store returns
    for a resent customer or agent message: an event with a client id is a resend when its number
    is not above the last one seen in its conversation (through ``append`` or ``events``).
    Reply latency is measured from the moment a customer message was stored to the moment the
    first bot answer with that ``reply_to`` is. Both memories keep at most ``remember`` entries,
    dropping the least recently used (a resend arriving after its conversation was dropped, or
    stored by another replica, is counted again).
    """

    def __init__(
        self, store: Store, metrics: Metrics, *, remember: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.inner = store
        self.metrics = metrics
        self._remember = remember
        self._clock = clock
        self._last_seq: OrderedDict[str, int] = OrderedDict()  # conversation -> highest seq seen
        self._waiting: OrderedDict[tuple[str, str], float] = OrderedDict()  # (conversation, client id) -> stored at

    async def create_conversation(self, token_hash: str) -> str:
        return await self._guard("create_conversation", self.inner.create_conversation(token_hash))

    async def conversation_for_token(self, token_hash: str) -> str | None:
        return await self._guard("conversation_for_token", self.inner.conversation_for_token(token_hash))

    async def append(
        self, conversation_id: str, events: Sequence[NewEvent], *, after: int | None = None
    ) -> list[StoredEvent]:
        seen = self._last_seq.get(conversation_id, 0)  # before the call: concurrent appends raise it
        stored = await self._guard("append", self.inner.append(conversation_id, events, after=after))
        self._observe(conversation_id, stored, seen)
        return stored

    async def events(self, conversation_id: str) -> list[StoredEvent]:
        events = await self._guard("events", self.inner.events(conversation_id))
        if events:
            self._saw(conversation_id, max(e.seq for e in events))
        return events

    async def find_customer_message(self, conversation_id: str, client_id: str) -> StoredEvent | None:
        return await self._guard("find_customer_message", self.inner.find_customer_message(conversation_id, client_id))

    async def conversations(self, states: Sequence[str]) -> list[ConversationSummary]:
        return await self._guard("conversations", self.inner.conversations(states))

    async def events_of_kind(self, kind: str, limit: int = 100) -> list[StoredEvent]:
        return await self._guard("events_of_kind", self.inner.events_of_kind(kind, limit))

    async def record_reload(self, record: ReloadRecord) -> None:
        await self._guard("record_reload", self.inner.record_reload(record))

    async def reloads(self, limit: int = 50) -> list[ReloadRecord]:
        return await self._guard("reloads", self.inner.reloads(limit))

    async def close(self) -> None:
        await self._guard("close", self.inner.close())

    async def _guard(self, operation: str, call: Awaitable[T]) -> T:
        try:
            return await call
        except ConflictError:
            self.metrics.store_conflicts.inc()  # a replica race the service replays, not a failure
            raise
        except StoreError:
            self.metrics.store_errors.labels(operation).inc()
            raise

    def _observe(self, conversation_id: str, stored: Sequence[StoredEvent], seen: int) -> None:
        if not stored:
            return
        metrics = self.metrics
        now = self._clock()
        answered: set[str] = set()  # reply_to values already observed in this append
        for event in stored:
            if event.client_id is not None and event.seq <= seen:
                continue  # the stored original of a resent message
            if event.kind == CUSTOMER_MESSAGE:
                metrics.customer_messages.inc()
                if event.client_id is not None:
                    _keep(self._waiting, (conversation_id, event.client_id), now, self._remember)
            elif event.kind == AGENT_MESSAGE:
                metrics.agent_messages.inc()
            elif event.kind == FEEDBACK and event.data.get("value") in VALUES:
                metrics.feedback.labels(event.data["value"]).inc()
            elif event.kind == SURVEY and event.data.get("score") in SCORES:
                metrics.surveys.labels(str(event.data["score"])).inc()
            kind = reply_kind(event)
            if kind is None:
                continue
            metrics.bot_replies.labels(kind).inc()
            if event.kind == HANDOFF:
                metrics.handoffs.labels(handoff_reason(event)).inc()
            reply_to = event.data.get("reply_to")
            if not isinstance(reply_to, str) or reply_to in answered:
                continue  # the greeting, or a further message of the same answer
            answered.add(reply_to)
            started = self._waiting.pop((conversation_id, reply_to), None)
            if started is not None:
                metrics.reply_latency.observe(now - started)
            p = top_probability(event)
            if p is not None:
                metrics.intent_confidence.observe(p)
        self._saw(conversation_id, max(e.seq for e in stored))

    def _saw(self, conversation_id: str, seq: int) -> None:
        _keep(self._last_seq, conversation_id, max(seq, self._last_seq.get(conversation_id, 0)), self._remember)


def _keep(memory: OrderedDict[K, V], key: K, value: V, limit: int) -> None:
    """Set ``key`` as the most recently used entry, dropping the least recently used beyond ``limit``."""
    memory[key] = value
    memory.move_to_end(key)
    while len(memory) > limit:
        memory.popitem(last=False)
