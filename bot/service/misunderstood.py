"""What the bot gets wrong: the customer messages it failed on, grouped by meaning for the admin.

A customer message *failed* (:data:`REASONS`) when the bot's answer to it was

* ``fallback``: a request to rephrase (a ``bot_reply`` with source ``fallback``);
* ``unresolved_clarify``: a ``clarify`` the customer did not resolve: their next message is not a
  click on one of its options (nor one of their labels typed), or they wrote nothing more for
  :data:`CLARIFY_WAIT` (30 minutes, as the insights' "abandoned");
* ``low_confidence`` or ``repeated_failure``: a ``handoff`` with that reason (a customer asking for
  a person, or a form handing off, is not the bot misunderstanding);
* ``thumbs_down``: a ``feedback`` of ``down`` on any answer to it.

An answer belongs to the message its ``reply_to`` names, else to the customer message before it.
:func:`failures` reads one conversation; :func:`collect` every conversation of a store (all of
their events: fine for the in-memory, SQLite and PostgreSQL stores at a small shop's volume; a
store query would be the next step). Messages are as stored; a message is referred to by its
conversation and its event's ``e<seq>`` id (:class:`MessageRef`), which never changes.

**Grouping** (:func:`group`): each message's sentence embedding comes from the served brain's
embedder (the base MiniLM the retriever uses; nothing is downloaded), then scikit-learn's
``AgglomerativeClustering`` with ``linkage="average"`` over cosine distances and no fixed number of
groups: two groups merge while the mean distance between their messages stays under
:data:`DISTANCE_THRESHOLD` (0.6, i.e. a mean cosine similarity above 0.4). Agglomerative rather
than k-means because the number of topics is unknown and outliers should stay alone; average
linkage rather than single so that one bridging message does not chain two topics together. 0.6
was chosen on MiniLM with paraphrase sets of a shop's topics (gift cards, student discounts, a
broken tent pole, paying in crypto) plus unrelated messages: from 0.55 to 0.65 no group mixes
topics (at 0.6 one topic still splits in two, at 0.65 none does), at 0.5 topics split further,
and at 0.7 unrelated messages start to merge; 0.6 keeps a margin from merging, since a mixed group
is worse for "add these to one intent" than a split one. A lower threshold gives smaller, purer
groups. At most :data:`MAX_MESSAGES` (the most recent) are grouped, as the distance matrix grows
with the square of their number.

A group's id is a hash of its sorted message references: the same messages make the same id.
Groups come biggest first; their examples are up to five distinct texts, nearest the group's centre
first; their intent is the one the classifier put first most often (the top of each answer's
``ranking``), with the mean of its probability over those messages.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.core.conversation import State
from bot.core.events import BOT_REPLY, CLARIFY, CUSTOMER_MESSAGE, FEEDBACK, HANDOFF, StoredEvent, iso
from bot.storage.store import Store
from kb.loader import example_key
from retrieval.embedder import Embedder

logger = logging.getLogger(__name__)

FALLBACK = "fallback"
UNRESOLVED_CLARIFY = "unresolved_clarify"
LOW_CONFIDENCE = "low_confidence"
REPEATED_FAILURE = "repeated_failure"
THUMBS_DOWN = "thumbs_down"
REASONS = (FALLBACK, UNRESOLVED_CLARIFY, LOW_CONFIDENCE, REPEATED_FAILURE, THUMBS_DOWN)
FAILED_HANDOFFS = (LOW_CONFIDENCE, REPEATED_FAILURE)
CLARIFY_WAIT = 30 * 60.0  # seconds without a next message after which a clarification counts as unresolved
DISTANCE_THRESHOLD = 0.6  # cosine distance; average linkage (see the module docstring)
MAX_EXAMPLES = 5
MAX_MESSAGES = 2000
_ANSWERS = (BOT_REPLY, CLARIFY, HANDOFF)


@dataclass(frozen=True, order=True)
class MessageRef:
    """A customer message: its conversation and its event's ``e<seq>`` id."""

    conversation: str
    event: str

    @property
    def key(self) -> str:
        return f"{self.conversation}/{self.event}"

    def to_dict(self) -> dict[str, str]:
        return {"conversation": self.conversation, "event": self.event}


def event_ref(event: StoredEvent) -> MessageRef:
    return MessageRef(event.conversation_id, f"e{event.seq}")


@dataclass(frozen=True)
class Misunderstood:
    """A customer message the bot failed on, and why."""

    ref: MessageRef
    text: str
    at: float
    reasons: tuple[str, ...]  # of REASONS, in that order
    intent: str | None = None  # the classifier's first intent for it
    confidence: float | None = None  # and that intent's probability

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.ref.to_dict(),
            "text": self.text,
            "at": iso(self.at),
            "reasons": list(self.reasons),
            "intent": self.intent,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class Group:
    """Failed messages that mean about the same thing."""

    id: str
    messages: tuple[Misunderstood, ...]  # oldest first
    examples: tuple[str, ...]  # up to MAX_EXAMPLES distinct texts, the most typical first
    intent: str | None  # the intent the classifier leaned to most often
    confidence: float | None  # its mean probability over the messages that leaned to it
    reasons: dict[str, int] = field(default_factory=dict)  # messages per reason, in REASONS order

    @property
    def size(self) -> int:
        return len(self.messages)

    @property
    def refs(self) -> tuple[MessageRef, ...]:
        return tuple(m.ref for m in self.messages)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "size": self.size,
            "examples": list(self.examples),
            "intent": self.intent,
            "confidence": self.confidence,
            "reasons": dict(self.reasons),
            "messages": [m.to_dict() for m in self.messages],
        }


# Which messages failed ---------------------------------------------------------------------------


@dataclass
class _Message:
    event: StoredEvent
    reasons: set[str] = field(default_factory=set)
    intent: str | None = None
    confidence: float | None = None
    leaned: bool = False


def failures(
    events: Sequence[StoredEvent], *, since: float | None = None, until: float | None = None, now: float | None = None
) -> list[Misunderstood]:
    """The customer messages of one conversation (sent in [since, until)) that the bot failed on."""
    now = time.time() if now is None else now
    messages: dict[int, _Message] = {}
    by_client: dict[str, _Message] = {}
    answered: dict[str, _Message] = {}  # an answer's wire id -> the message it answered
    last: _Message | None = None
    clarify: tuple[StoredEvent, _Message] | None = None  # the last clarification, until the next message
    for event in events:
        if event.kind == CUSTOMER_MESSAGE:
            if clarify is not None and not _resolves(event, clarify[0]):
                clarify[1].reasons.add(UNRESOLVED_CLARIFY)
            clarify = None
            last = messages[event.seq] = _Message(event)
            if event.client_id is not None:
                by_client[event.client_id] = last
        elif event.kind in _ANSWERS:
            reply_to = event.data.get("reply_to")
            message = by_client.get(reply_to, last) if isinstance(reply_to, str) else last
            if message is None or event.data.get("source") == "system":
                continue
            answered[event.id] = message
            _lean(message, event.data)
            if event.kind == BOT_REPLY and event.data.get("source") == "fallback":
                message.reasons.add(FALLBACK)
            elif event.kind == CLARIFY:
                clarify = (event, message)
            elif event.kind == HANDOFF and event.data.get("reason") in FAILED_HANDOFFS:
                message.reasons.add(str(event.data["reason"]))
        elif event.kind == FEEDBACK and event.data.get("value") == "down":
            rated = answered.get(str(event.data.get("reply")))
            if rated is not None:
                rated.reasons.add(THUMBS_DOWN)
    if clarify is not None and now - clarify[0].created_at >= CLARIFY_WAIT:
        clarify[1].reasons.add(UNRESOLVED_CLARIFY)
    return [
        Misunderstood(
            event_ref(m.event),
            str(m.event.data.get("text", "")),
            m.event.created_at,
            tuple(r for r in REASONS if r in m.reasons),
            m.intent,
            m.confidence,
        )
        for m in messages.values()
        if m.reasons and _within(m.event.created_at, since, until) and str(m.event.data.get("text", "")).strip()
    ]


async def collect(
    store: Store,
    *,
    since: float | None = None,
    until: float | None = None,
    now: float | None = None,
    exclude: Collection[MessageRef] = (),
) -> list[Misunderstood]:
    """The failed customer messages of every conversation in ``store`` sent in [since, until), oldest first.

    ``exclude``: messages to leave out (the admin dismissed or already fixed them).
    """
    now = time.time() if now is None else now
    skip = set(exclude)
    found: list[Misunderstood] = []
    for summary in await store.conversations([state.value for state in State]):
        if until is not None and summary.created_at >= until:
            continue
        events = await store.events(summary.id)
        found.extend(m for m in failures(events, since=since, until=until, now=now) if m.ref not in skip)
    return sorted(found, key=lambda m: (m.at, m.ref))


def _resolves(message: StoredEvent, clarify: StoredEvent) -> bool:
    """Whether ``message`` is a click on one of ``clarify``'s options (or an option's label typed)."""
    options = [o for o in clarify.data.get("options", []) if isinstance(o, dict)]
    if message.data.get("chosen_intent") in {o.get("intent") for o in options}:
        return True
    typed = example_key(str(message.data.get("text", "")))
    return any(typed in (example_key(str(o.get("label", ""))), example_key(str(o.get("intent", "")))) for o in options)


def _lean(message: _Message, data: dict[str, Any]) -> None:
    """The first answer's view of the message: the classifier's first intent and its probability."""
    if message.leaned:
        return
    ranking = data.get("ranking")
    if isinstance(ranking, list) and ranking and isinstance(ranking[0], dict):
        intent, p = ranking[0].get("intent"), ranking[0].get("p")
    else:
        intent, p = data.get("intent"), data.get("confidence")
    if isinstance(intent, str):
        message.intent = intent
        message.confidence = float(p) if isinstance(p, (int, float)) and not isinstance(p, bool) else None
        message.leaned = True


def _within(at: float, since: float | None, until: float | None) -> bool:
    return (since is None or at >= since) and (until is None or at < until)


# Grouping ----------------------------------------------------------------------------------------


def group(
    messages: Sequence[Misunderstood],
    embedder: Embedder,
    *,
    threshold: float = DISTANCE_THRESHOLD,
    limit: int = MAX_MESSAGES,
) -> list[Group]:
    """``messages`` grouped by meaning, biggest group first (CPU-bound: call it off the event loop)."""
    if not messages:
        return []
    chosen = sorted(messages, key=lambda m: (m.at, m.ref))
    if len(chosen) > limit:
        logger.info("grouping the %d most recent of %d failed messages", limit, len(chosen))
        chosen = chosen[-limit:]
    vectors = _unit(np.asarray(embedder.encode([m.text for m in chosen]), dtype=np.float64))
    if len(chosen) == 1:
        labels = np.zeros(1, dtype=int)
    else:
        distances = np.clip(1.0 - vectors @ vectors.T, 0.0, 2.0)
        distances = (distances + distances.T) / 2
        np.fill_diagonal(distances, 0.0)
        from sklearn.cluster import AgglomerativeClustering  # imported when clustering: the server starts without it

        clustering = AgglomerativeClustering(
            n_clusters=None, metric="precomputed", linkage="average", distance_threshold=threshold
        )
        labels = clustering.fit_predict(distances)
    members: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        members.setdefault(int(label), []).append(index)
    groups = [_group([chosen[i] for i in rows], vectors[rows]) for rows in members.values()]
    return sorted(groups, key=lambda g: (-g.size, g.id))


def group_id(refs: Collection[MessageRef]) -> str:
    """The same messages, the same id."""
    digest = hashlib.sha256("\n".join(sorted(ref.key for ref in refs)).encode("utf-8")).hexdigest()
    return f"g_{digest[:16]}"


def _group(messages: list[Misunderstood], vectors: NDArray[np.float64]) -> Group:
    centre = vectors.mean(axis=0)
    typical = sorted(range(len(messages)), key=lambda i: (-float(vectors[i] @ centre), messages[i].at))
    examples: dict[str, str] = {}
    for i in typical:
        key = example_key(messages[i].text)
        if key not in examples and len(examples) < MAX_EXAMPLES:
            examples[key] = messages[i].text
    leaned = Counter(m.intent for m in messages if m.intent is not None)
    intent = min(leaned, key=lambda name: (-leaned[name], name)) if leaned else None
    probabilities = [m.confidence for m in messages if m.intent == intent and m.confidence is not None]
    confidence = round(sum(probabilities) / len(probabilities), 4) if intent and probabilities else None
    reasons = {r: n for r in REASONS if (n := sum(r in m.reasons for m in messages))}
    return Group(
        group_id([m.ref for m in messages]),
        tuple(messages),
        tuple(examples.values()),
        intent,
        confidence,
        reasons,
    )


def _unit(vectors: NDArray[np.float64]) -> NDArray[np.float64]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: NDArray[np.float64] = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return unit
