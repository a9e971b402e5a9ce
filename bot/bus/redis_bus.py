"""The Redis bus: live events and signals shared between several Deskmate replicas.

Every publish is delivered to this process's own subscribers at once, exactly as the in-process
bus does, then queued for one writer task that PUBLISHes it to Redis (pipelined, in publishing
order; ``publish`` never waits for Redis) on the channel ``<prefix><topic>`` as a JSON message
carrying this bus's origin id. One reader task per process
holds a single pattern subscription, ``PSUBSCRIBE <prefix>*``, and delivers every message of
another origin to the local subscribers of its topic. So :meth:`RedisBus.subscribe` stays
synchronous and purely local: a subscription is live the moment it exists, with no race against
a SUBSCRIBE reaching Redis, and the publisher's own subscribers never see a message twice.

The trade-off of the one pattern subscription: every replica receives every message, including
those for conversations nobody on it is watching, and drops them after a dictionary lookup. That
is cheap for a few replicas and thousands of messages per second; a deployment far past that
would want per-topic subscriptions (or sharded channels) instead.

The store, not the bus, is the source of truth. While Redis is down or cut off, publishing never
raises: local delivery goes on, messages for other replicas are dropped (their topics
remembered), :attr:`RedisBus.healthy` is False and one warning is logged for the whole outage.
The reader reconnects with capped exponential backoff; once subscribed again it puts
``Signal("resync")`` into every local subscription and publishes the same signal on every topic
whose messages were dropped, so connections on every replica re-read what they may have missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any, Required, TypedDict
from urllib.parse import urlsplit

import redis.asyncio as redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from bot.bus.base import RESYNC, LocalTopics, Signal, Subscription
from bot.core.events import StoredEvent
from bot.errors import ConfigError

logger = logging.getLogger(__name__)

BACKOFF_FIRST = 0.1  # seconds before the first reconnection attempt, doubling up to BACKOFF_MAX
BACKOFF_MAX = 5.0
POLL_S = 1.0  # the reader wakes at least this often (to notice a failed publish)
PING_AFTER = 5.0  # a subscription silent this long is PINGed...
PING_TIMEOUT = 5.0  # ...and counted as lost if the PONG takes longer than this
SOCKET_TIMEOUT = 2.0  # connecting, and each PUBLISH round trip
OUTBOX_LIMIT = 10_000  # messages waiting for the writer; past this Redis counts as down
BATCH = 256  # messages per pipelined round trip


class EventPayload(TypedDict):
    conversation_id: str
    seq: int
    kind: str
    data: dict[str, Any]
    created_at: float
    client_id: str | None


class SignalPayload(TypedDict):
    kind: str
    data: dict[str, Any]


class BusMessage(TypedDict, total=False):
    """One message on a Redis channel: ``origin`` and either ``events`` or ``signal``."""

    origin: Required[str]
    events: list[EventPayload]
    signal: SignalPayload


def encode_events(origin: str, events: Sequence[StoredEvent]) -> bytes:
    payload: list[EventPayload] = [
        {
            "conversation_id": e.conversation_id,
            "seq": e.seq,
            "kind": e.kind,
            "data": e.data,
            "created_at": e.created_at,
            "client_id": e.client_id,
        }
        for e in events
    ]
    message: BusMessage = {"origin": origin, "events": payload}
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


def encode_signal(origin: str, signal: Signal) -> bytes:
    message: BusMessage = {"origin": origin, "signal": {"kind": signal.kind, "data": signal.data}}
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


def decode(raw: bytes) -> tuple[str, list[StoredEvent | Signal]]:
    """The origin and items of one channel message; ValueError if it is not one of ours."""
    message = json.loads(raw)
    if not isinstance(message, dict) or not isinstance(message.get("origin"), str):
        raise ValueError('not a Deskmate bus message (no "origin")')
    if isinstance(message.get("events"), list):
        return message["origin"], [_event(e) for e in message["events"]]
    signal = message.get("signal")
    if isinstance(signal, dict) and isinstance(signal.get("kind"), str) and isinstance(signal.get("data"), dict):
        return message["origin"], [Signal(signal["kind"], signal["data"])]
    raise ValueError('a bus message needs "events" (a list) or "signal" ({"kind", "data"})')


def _event(item: object) -> StoredEvent:
    if not isinstance(item, dict):
        raise ValueError("an event must be an object")
    seq, created_at, client_id = item.get("seq"), item.get("created_at"), item.get("client_id")
    if (
        not isinstance(item.get("conversation_id"), str)
        or not isinstance(seq, int)
        or isinstance(seq, bool)
        or not isinstance(item.get("kind"), str)
        or not isinstance(item.get("data"), dict)
        or not isinstance(created_at, int | float)
        or not (client_id is None or isinstance(client_id, str))
    ):
        raise ValueError("an event needs conversation_id, seq, kind, data, created_at and client_id")
    return StoredEvent(item["conversation_id"], seq, item["kind"], item["data"], float(created_at), client_id)


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "\\*?[]" else c for c in text)


def _where(url: str) -> str:
    """The server an URL names, without its credentials (the URL is a secret)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix:{parts.path}"
    try:
        return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
    except ValueError:
        return parts.hostname or "localhost"


class RedisBus:
    """The bus for several replicas; :meth:`start` it before use and :meth:`close` it after."""

    def __init__(self, url: str, *, channel_prefix: str = "deskmate:") -> None:
        self.prefix = channel_prefix
        self.origin = uuid.uuid4().hex  # this bus instance: its own messages come back and are skipped
        self._where = _where(url)
        self._pattern = _glob_escape(channel_prefix) + "*"
        options: dict[str, Any] = {"socket_connect_timeout": SOCKET_TIMEOUT, "socket_timeout": SOCKET_TIMEOUT}
        try:
            # The writer retries once at once (a pooled connection gone stale while Redis restarted);
            # the reader never retries inside redis-py, which would resubscribe without telling us.
            self._publisher = redis.Redis.from_url(url, retry=Retry(NoBackoff(), 1), **options)
            self._subscriber = redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), **options)
        except ValueError as exc:
            raise ConfigError(f"cannot use the Redis URL: {exc}; write it like redis://host:6379/0") from exc
        self._topics = LocalTopics()
        self._outbox: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue(OUTBOX_LIMIT)
        self._dropped: set[str] = set()  # topics whose messages did not reach Redis since the last resync
        self._live = False  # the reader is subscribed and nothing has failed since
        self._down = False  # an outage was reported and has not ended yet
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def healthy(self) -> bool:
        """Whether messages reach the other replicas now (for /healthz)."""
        return self._live

    async def start(self) -> RedisBus:
        """Start the reader and writer; returns once subscribed, or once the first attempt failed.

        A Redis that is down at start is an outage like any other: this replica works alone until
        it comes back.
        """
        subscribed = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._read_forever(subscribed), name="redis-bus-reader"),
            asyncio.create_task(self._write_forever(), name="redis-bus-writer"),
        ]
        await subscribed.wait()
        return self

    async def close(self) -> None:
        """Send what is waiting (for up to a second), then stop and disconnect."""
        if self._tasks:
            reader, writer = self._tasks
            reader.cancel()
            with contextlib.suppress(asyncio.QueueFull):
                self._outbox.put_nowait(None)
            done, _ = await asyncio.wait([writer], timeout=1.0)
            if not done:
                writer.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)  # both end cancelled or done
            self._tasks = []
        self._live = False
        await self._publisher.aclose()
        await self._subscriber.aclose()

    async def __aenter__(self) -> RedisBus:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def subscribe(self, conversation_id: str) -> Subscription:
        return self._topics.subscribe(conversation_id)

    async def publish(self, conversation_id: str, events: Sequence[StoredEvent]) -> None:
        if events:
            payload = encode_events(self.origin, events)
            self._topics.deliver(conversation_id, events)
            self._send(conversation_id, payload)

    async def signal(self, topic: str, signal: Signal) -> None:
        payload = encode_signal(self.origin, signal)
        self._topics.deliver(topic, (signal,))
        self._send(topic, payload)

    def _send(self, topic: str, payload: bytes) -> None:
        if not self._live:
            self._dropped.add(topic)
            return
        try:
            self._outbox.put_nowait((topic, payload))
        except asyncio.QueueFull:
            self._dropped.add(topic)
            self._lost("publishing", f"{OUTBOX_LIMIT} messages are waiting for Redis")

    def _lost(self, what: str, reason: BaseException | str) -> None:
        self._live = False
        if not self._down:
            self._down = True
            logger.warning(
                "Redis bus at %s: %s failed (%s); live updates between replicas stop until Redis is back, "
                "then connections resync from the store",
                self._where,
                what,
                str(reason) or type(reason).__name__,
            )

    def _subscribed(self) -> None:
        self._live = True
        if self._down:
            self._down = False
            logger.info("Redis bus at %s is back; connections resync from the store", self._where)
            self._topics.broadcast(Signal(RESYNC))
        else:
            logger.info("Redis bus subscribed to %s at %s", self._pattern, self._where)
        dropped, self._dropped = self._dropped, set()
        for topic in sorted(dropped):
            self._send(topic, encode_signal(self.origin, Signal(RESYNC)))

    async def _read_forever(self, subscribed: asyncio.Event) -> None:
        delay = BACKOFF_FIRST
        while True:
            pubsub = self._subscriber.pubsub()
            try:
                await pubsub.psubscribe(self._pattern)
                confirmed = await pubsub.get_message(timeout=SOCKET_TIMEOUT)
                if confirmed is None or confirmed["type"] != "psubscribe":
                    raise redis.ConnectionError(f"PSUBSCRIBE not confirmed in {SOCKET_TIMEOUT:g} s")
                delay = BACKOFF_FIRST
                self._subscribed()
                subscribed.set()
                await self._read(pubsub)
            except (RedisError, OSError) as exc:
                logger.debug("Redis bus at %s: subscription lost or refused: %s", self._where, exc)
                self._lost("the subscription", exc)
            except Exception as exc:  # a bug here must not end cross-replica delivery for good
                logger.exception("Redis bus at %s: the reader failed", self._where)
                self._lost("the reader", exc)
            finally:
                subscribed.set()
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    async def _read(self, pubsub: PubSub) -> None:
        """Deliver other replicas' messages until the connection fails (raises) or a publish did (returns)."""
        loop = asyncio.get_running_loop()
        heard = loop.time()
        pinged: float | None = None
        while self._live:
            message = await pubsub.get_message(timeout=POLL_S)
            now = loop.time()
            if message is None:
                if pinged is None and now - heard > PING_AFTER:
                    await pubsub.ping()
                    pinged = now
                elif pinged is not None and now - pinged > PING_TIMEOUT:
                    raise redis.ConnectionError(f"no answer to PING in {PING_TIMEOUT:g} s")
                continue
            heard, pinged = now, None
            if message["type"] == "pmessage":
                self._receive(message["channel"], message["data"])

    def _receive(self, channel: bytes, raw: bytes) -> None:
        topic = channel.decode(errors="replace").removeprefix(self.prefix)
        try:
            origin, items = decode(raw)
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            logger.warning("Redis bus: skipped a message on %s (%d bytes) that is not ours: %s", topic, len(raw), exc)
            return
        if origin != self.origin:
            self._topics.deliver(topic, items)

    async def _write_forever(self) -> None:
        while True:
            first = await self._outbox.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < BATCH and not self._outbox.empty():
                item = self._outbox.get_nowait()
                if item is None:
                    await self._write(batch)
                    return
                batch.append(item)
            await self._write(batch)

    async def _write(self, batch: list[tuple[str, bytes]]) -> None:
        if not self._live:  # failed since they were queued: dropped until the resync
            self._dropped.update(topic for topic, _ in batch)
            return
        try:
            async with self._publisher.pipeline(transaction=False) as pipe:
                for topic, payload in batch:
                    pipe.publish(self.prefix + topic, payload)
                await pipe.execute()
        except Exception as exc:  # Redis errors, and any other: the writer must go on
            if not isinstance(exc, RedisError | OSError):
                logger.exception("Redis bus at %s: the writer failed", self._where)
            self._dropped.update(topic for topic, _ in batch)
            self._lost("publishing", exc)
