"""Metrics: counted from what the store keeps (through ObservedStore), read back from a real scrape."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.bus.inprocess import InProcessBus
from bot.core.conversation import Agent
from bot.core.events import (
    AGENT_MESSAGE,
    BOT_REPLY,
    CLARIFY,
    CUSTOMER_MESSAGE,
    HANDOFF,
    SLOT_SET,
    STATE_CHANGED,
    NewEvent,
    StoredEvent,
)
from bot.errors import ConflictError, StoreError
from bot.ops.metrics import REPLY_KINDS, Metrics, ObservedStore
from bot.service.brain import Brain
from bot.service.chat import ChatService
from bot.storage.store import ConversationSummary, InMemoryStore

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(metrics: Metrics, store: Any = None, **kwargs: Any) -> Samples:
    body, content_type = await metrics.render(store, **kwargs)
    assert content_type.startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


class Clock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def message(client_id: str, text: str = "hello") -> NewEvent:
    return NewEvent(CUSTOMER_MESSAGE, {"text": text}, client_id=client_id)


def answer(reply_to: str, *, p: float | None = 0.9, kind: str = BOT_REPLY, **data: Any) -> NewEvent:
    payload: dict[str, Any] = {"text": "an answer", "reply_to": reply_to, **data}
    if p is not None:
        payload["ranking"] = [{"intent": "a", "p": p}, {"intent": "b", "p": round(1 - p, 4)}]
    return NewEvent(kind, payload)


async def observed(**kwargs: Any) -> tuple[Metrics, ObservedStore, str]:
    metrics = Metrics()
    store = ObservedStore(InMemoryStore(), metrics, **kwargs)
    return metrics, store, await store.create_conversation("token")


# Counting what was stored ------------------------------------------------------------------


async def test_a_resent_customer_message_is_counted_once() -> None:
    metrics, store, cid = await observed()

    first = await store.append(cid, [message("m1")])
    again = await store.append(cid, [message("m1"), NewEvent(SLOT_SET, {"slot": "x", "value": "1"})])

    assert again[0] == first[0]  # the store returned the original
    samples = await scrape(metrics)
    assert value(samples, "deskmate_customer_messages_total") == 1


async def test_a_replica_restarted_learns_the_history_from_events() -> None:
    inner = InMemoryStore()
    cid = await inner.create_conversation("token")
    await inner.append(cid, [message("m1")])
    metrics = Metrics()
    store = ObservedStore(inner, metrics)

    await store.events(cid)  # what the service does first: replay the conversation
    await store.append(cid, [message("m1")])
    await store.append(cid, [message("m2")])

    assert value(await scrape(metrics), "deskmate_customer_messages_total") == 1


class SlowToAnswer(InMemoryStore):
    """Stores at once but answers a "slow" message's append only when released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def append(
        self, conversation_id: str, events: Sequence[NewEvent], *, after: int | None = None
    ) -> list[StoredEvent]:
        stored = await super().append(conversation_id, events, after=after)
        if any(e.client_id == "slow" for e in events):
            await self.release.wait()
        return stored


async def test_concurrent_appends_are_all_counted() -> None:
    inner = SlowToAnswer()
    metrics = Metrics()
    store = ObservedStore(inner, metrics)
    cid = await store.create_conversation("token")

    slow = asyncio.create_task(store.append(cid, [message("slow")]))  # stored as number 1
    await asyncio.sleep(0)
    await store.append(cid, [NewEvent(AGENT_MESSAGE, {"text": "Hi"}, client_id="a1")])  # number 2, seen first
    inner.release.set()
    await slow

    samples = await scrape(metrics)
    assert value(samples, "deskmate_customer_messages_total") == 1
    assert value(samples, "deskmate_agent_messages_total") == 1


async def test_agent_messages_are_counted_once() -> None:
    metrics, store, cid = await observed()
    reply = NewEvent(AGENT_MESSAGE, {"text": "Hi, Sam here", "agent": "sam"}, client_id="a1")

    await store.append(cid, [reply])
    await store.append(cid, [reply])

    assert value(await scrape(metrics), "deskmate_agent_messages_total") == 1


async def test_bot_replies_by_kind_and_handoffs_by_reason() -> None:
    metrics, store, cid = await observed()
    await store.append(cid, [NewEvent(BOT_REPLY, {"text": "Hi!", "source": "system"})])  # the greeting
    cases: list[tuple[str, dict[str, Any]]] = [
        (BOT_REPLY, {"source": "template"}),
        (BOT_REPLY, {"source": "template"}),
        (BOT_REPLY, {"source": "retrieved"}),
        (BOT_REPLY, {"source": "generated"}),
        (BOT_REPLY, {"source": "fallback"}),
        (BOT_REPLY, {"source": "something new"}),
        (CLARIFY, {}),
        (HANDOFF, {"reason": "explicit_request"}),
        (HANDOFF, {"reason": "repeated_failure"}),
        (HANDOFF, {"reason": "a reason from the future"}),
    ]
    for n, (kind, data) in enumerate(cases):
        await store.append(cid, [message(f"m{n}")])
        await store.append(cid, [answer(f"m{n}", kind=kind, **data)])
    # a custom action: two messages, then a pause hands the customer off
    await store.append(cid, [message("mx")])
    await store.append(
        cid,
        [
            answer("mx", source="action"),
            answer("mx", source="action"),
            answer("mx", kind=HANDOFF, reason="action"),
            NewEvent(STATE_CHANGED, {"from": "BOT", "to": "WAITING_FOR_AGENT", "reason": "action"}),
        ],
    )

    samples = await scrape(metrics)
    replies = {kind: value(samples, "deskmate_bot_replies_total", kind=kind) for kind in REPLY_KINDS}
    assert replies == {
        "template": 2,
        "retrieved": 1,
        "generated": 1,
        "action": 2,
        "fallback": 1,
        "system": 1,
        "clarify": 1,
        "handoff": 4,
        "other": 1,
    }
    reasons = {
        reason: value(samples, "deskmate_handoffs_total", reason=reason)
        for reason in ("low_confidence", "explicit_request", "repeated_failure", "ambiguous", "action", "other")
    }
    assert reasons == {
        "low_confidence": 0,
        "explicit_request": 1,
        "repeated_failure": 1,
        "ambiguous": 0,
        "action": 1,
        "other": 1,
    }
    assert value(samples, "deskmate_customer_messages_total") == 11
    # one latency and one confidence per answered message, however many messages the answer has
    assert value(samples, "deskmate_reply_latency_seconds_count") == 11
    assert value(samples, "deskmate_intent_confidence_count") == 11


async def test_reply_latency_from_the_stored_message_to_the_stored_answer() -> None:
    clock = Clock(100.0)
    metrics, store, cid = await observed(clock=clock)

    await store.append(cid, [message("m1")])
    clock.now = 100.3
    await store.append(cid, [message("m1")])  # a resend does not restart the clock
    clock.now = 100.4
    await store.append(cid, [answer("m1")])
    clock.now = 107.0
    await store.append(cid, [answer("m1")])  # a later answer to the same message is not timed again

    samples = await scrape(metrics)
    assert value(samples, "deskmate_reply_latency_seconds_count") == 1
    assert value(samples, "deskmate_reply_latency_seconds_sum") == pytest.approx(0.4)
    assert value(samples, "deskmate_reply_latency_seconds_bucket", le="0.25") == 0
    assert value(samples, "deskmate_reply_latency_seconds_bucket", le="0.5") == 1
    assert value(samples, "deskmate_reply_latency_seconds_bucket", le="+Inf") == 1


async def test_latency_is_only_timed_for_messages_this_store_saw_stored() -> None:
    clock = Clock()
    metrics, store, cid = await observed(clock=clock, remember=2)
    for client_id in ("m1", "m2", "m3"):
        await store.append(cid, [message(client_id)])
    clock.now += 1.0

    await store.append(cid, [answer("m1", p=0.35)])  # m1 was forgotten (remember=2)
    await store.append(cid, [answer("unknown", p=0.95)])  # stored before a restart, say
    await store.append(cid, [answer("m3", p=0.65)])

    samples = await scrape(metrics)
    assert value(samples, "deskmate_reply_latency_seconds_count") == 1
    assert value(samples, "deskmate_reply_latency_seconds_sum") == pytest.approx(1.0)
    # the confidence is observed for every answer all the same
    assert value(samples, "deskmate_intent_confidence_count") == 3
    assert value(samples, "deskmate_intent_confidence_sum") == pytest.approx(1.95)
    assert value(samples, "deskmate_intent_confidence_bucket", le="0.3") == 0
    assert value(samples, "deskmate_intent_confidence_bucket", le="0.4") == 1
    assert value(samples, "deskmate_intent_confidence_bucket", le="0.7") == 2
    assert value(samples, "deskmate_intent_confidence_bucket", le="1.0") == 3


async def test_answers_without_a_ranking_are_not_confidence_samples() -> None:
    metrics, store, cid = await observed()
    await store.append(cid, [message("m1")])

    await store.append(cid, [answer("m1", p=None, source="template")])

    samples = await scrape(metrics)
    assert value(samples, "deskmate_intent_confidence_count") == 0
    assert value(samples, "deskmate_reply_latency_seconds_count") == 1


# Store errors ------------------------------------------------------------------------------


class FailingStore(InMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.failure: Exception | None = None
        self.hang = False

    async def append(
        self, conversation_id: str, events: Sequence[NewEvent], *, after: int | None = None
    ) -> list[StoredEvent]:
        if self.failure is not None:
            raise self.failure
        return await super().append(conversation_id, events, after=after)

    async def conversations(self, states: Sequence[str]) -> list[ConversationSummary]:
        if self.hang:
            await asyncio.Event().wait()
        if self.failure is not None:
            raise self.failure
        return await super().conversations(states)


async def test_store_errors_are_counted_and_raised() -> None:
    inner = FailingStore()
    metrics = Metrics()
    store = ObservedStore(inner, metrics)
    cid = await store.create_conversation("token")
    inner.failure = StoreError("database is locked")

    with pytest.raises(StoreError, match="database is locked"):
        await store.append(cid, [message("m1")])
    with pytest.raises(StoreError, match="no conversation c_missing"):
        await ObservedStore(InMemoryStore(), metrics).append("c_missing", [message("m1")])
    with pytest.raises(StoreError, match="already exists"):
        await store.create_conversation("token")
    inner.failure = ConflictError(cid, 3, 4)
    with pytest.raises(ConflictError):
        await store.append(cid, [message("m1")], after=3)

    samples = await scrape(metrics)
    assert value(samples, "deskmate_store_errors_total", operation="append") == 2
    assert value(samples, "deskmate_store_errors_total", operation="create_conversation") == 1
    assert value(samples, "deskmate_store_conflicts_total") == 1  # a replica race, not an error
    assert value(samples, "deskmate_customer_messages_total") == 0


async def test_other_exceptions_pass_through_uncounted() -> None:
    inner = FailingStore()
    metrics = Metrics()
    store = ObservedStore(inner, metrics)
    cid = await store.create_conversation("token")
    inner.failure = RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        await store.append(cid, [message("m1")])

    assert not any(name == "deskmate_store_errors_total" for name, _ in await scrape(metrics))


# Scrapes -----------------------------------------------------------------------------------


async def test_the_queue_length_is_read_from_the_store_at_scrape_time() -> None:
    metrics, store, waiting = await observed()
    other = await store.create_conversation("token 2")
    held = await store.create_conversation("token 3")
    to_queue = NewEvent(STATE_CHANGED, {"from": "BOT", "to": "WAITING_FOR_AGENT", "reason": "explicit_request"})
    for cid in (waiting, other, held):
        await store.append(cid, [to_queue])
    await store.append(held, [NewEvent(STATE_CHANGED, {"from": "WAITING_FOR_AGENT", "to": "WITH_AGENT"})])

    assert value(await scrape(metrics, store), "deskmate_queue_length") == 2
    await store.append(other, [NewEvent(STATE_CHANGED, {"from": "WAITING_FOR_AGENT", "to": "WITH_AGENT"})])
    assert value(await scrape(metrics, store), "deskmate_queue_length") == 1
    assert value(await scrape(metrics), "deskmate_queue_length") == 1  # no store: the last value


async def test_a_failing_store_still_gives_the_other_metrics() -> None:
    inner = FailingStore()
    metrics = Metrics()
    store = ObservedStore(inner, metrics)
    cid = await store.create_conversation("token")
    await store.append(cid, [message("m1")])
    await store.append(cid, [NewEvent(STATE_CHANGED, {"from": "BOT", "to": "WAITING_FOR_AGENT"})])
    assert value(await scrape(metrics, store), "deskmate_queue_length") == 1

    inner.failure = StoreError("database is locked")
    samples = await scrape(metrics, store)
    assert value(samples, "deskmate_queue_length") == 1  # the last known length
    assert value(samples, "deskmate_customer_messages_total") == 1
    assert value(samples, "deskmate_store_errors_total", operation="conversations") == 1

    inner.hang = True
    samples = await scrape(metrics, store, timeout=0.05)
    assert value(samples, "deskmate_customer_messages_total") == 1


async def test_openmetrics_when_the_scraper_asks_for_it() -> None:
    metrics = Metrics()

    body, content_type = await metrics.render(accept="application/openmetrics-text; version=1.0.0")

    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")


async def test_connections_by_role() -> None:
    metrics = Metrics()
    metrics.connection_opened("customer")
    metrics.connection_opened("customer")
    metrics.connection_opened("agent")
    metrics.connection_closed("customer")
    with metrics.connection("admin"):
        during = await scrape(metrics)
    after = await scrape(metrics)

    assert [value(during, "deskmate_open_connections", role=r) for r in ("customer", "agent", "admin")] == [1, 1, 1]
    assert [value(after, "deskmate_open_connections", role=r) for r in ("customer", "agent", "admin")] == [1, 1, 0]
    with pytest.raises(ValueError, match="use one of customer, agent, admin"):
        metrics.connection_opened("robot")


async def test_the_served_build() -> None:
    metrics = Metrics(build_id="b-1")
    assert value(await scrape(metrics), "deskmate_kb_build_info", build_id="b-1") == 1

    metrics.set_build("b-2")  # a reload swapped the build
    samples = await scrape(metrics)
    assert value(samples, "deskmate_kb_build_info", build_id="b-2") == 1
    assert ("deskmate_kb_build_info", frozenset({("build_id", "b-1")})) not in samples


async def test_each_metrics_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()  # the global registry would refuse the second
    first.agent_messages.inc()

    assert value(await scrape(first), "deskmate_agent_messages_total") == 1
    assert value(await scrape(second), "deskmate_agent_messages_total") == 0


# The real service --------------------------------------------------------------------------

ASK_PERSON = "I want to talk to a real person"
SAM = Agent("sam", "Sam")


async def test_a_served_conversation_is_counted(demo_brain: Brain) -> None:
    metrics = Metrics(build_id=demo_brain.build_id)
    store = ObservedStore(InMemoryStore(), metrics)
    service = ChatService(store=store, bus=InProcessBus(), brain=demo_brain)
    try:
        cid = (await service.open_session(None)).conversation_id
        _, first = await service.customer_message(cid, client_id="m1", text="How much is delivery?")
        duplicate, _ = await service.customer_message(cid, client_id="m1", text="How much is delivery?")
        _, second = await service.customer_message(cid, client_id="m2", text=ASK_PERSON)
        queued = await scrape(metrics, store)
        await service.change(cid, lambda c: c.claim(SAM))
        await service.change(cid, lambda c: c.agent_reply(SAM, "Hi, Sam here", client_id="a1"))
        claimed = await scrape(metrics, store)
    finally:
        await service.close()

    assert duplicate
    answers = [e for e in (*first, *second) if e.kind in (BOT_REPLY, HANDOFF)]
    assert [(e.kind, e.data.get("source"), e.data.get("reason")) for e in answers] == [
        (BOT_REPLY, "template", None),
        (HANDOFF, None, "explicit_request"),
    ]
    assert value(queued, "deskmate_customer_messages_total") == 2
    assert value(queued, "deskmate_bot_replies_total", kind="system") == 1  # the greeting
    assert value(queued, "deskmate_bot_replies_total", kind="template") == 1
    assert value(queued, "deskmate_bot_replies_total", kind="handoff") == 1
    assert value(queued, "deskmate_handoffs_total", reason="explicit_request") == 1
    assert value(queued, "deskmate_reply_latency_seconds_count") == 2
    assert value(queued, "deskmate_reply_latency_seconds_bucket", le="10.0") == 2
    assert value(queued, "deskmate_intent_confidence_count") == 2
    assert value(queued, "deskmate_intent_confidence_sum") == pytest.approx(
        sum(e.data["ranking"][0]["p"] for e in answers)
    )
    assert value(queued, "deskmate_queue_length") == 1
    assert value(queued, "deskmate_kb_build_info", build_id=demo_brain.build_id) == 1
    assert value(claimed, "deskmate_queue_length") == 0
    assert value(claimed, "deskmate_agent_messages_total") == 1
    assert value(claimed, "deskmate_customer_messages_total") == 2
