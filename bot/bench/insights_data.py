"""Synthetic conversations for ``deskmate bench insights``: seeded, about ten events each.

Shaped like the chat service's logs (bot/core/conversation.py): a greeting, one to five customer
turns each answered by a reply, a clarification, a fallback or a handoff, thumbs on some answers;
after a handoff most conversations get an agent, some agent messages, a close and sometimes a
survey; some customers end the chat themselves. Conversations start uniformly over the ``days``
before ``now``; their events follow seconds to minutes apart.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from bot.core.events import (
    AGENT_JOINED,
    AGENT_MESSAGE,
    BOT_REPLY,
    CLARIFY,
    CLOSED,
    CUSTOMER_MESSAGE,
    FEEDBACK,
    HANDOFF,
    SLOT_SET,
    STATE_CHANGED,
    SURVEY,
    VISIT,
    StoredEvent,
)
from bot.core.policy import HandoffReason
from bot.storage.insights import DAY
from bot.storage.insights_memory import ConversationLog

INTENTS = tuple(
    f"{topic}_{verb}"
    for topic in ("order", "refund", "delivery", "account", "payment", "warranty", "product", "store")
    for verb in ("status", "change", "cancel", "problem", "question")
)
INTENT_WEIGHTS = tuple(1 / (rank + 1) for rank in range(len(INTENTS)))  # Zipf-like: a few intents dominate
REASONS = tuple(reason.value for reason in HandoffReason)
AGENTS = ("alice", "bruno", "chen", "dana", "emeka", "farah")
SOURCES = ("template", "template", "retrieved", "generated")
QUESTIONS = (
    "Where is my order? It was supposed to arrive yesterday",
    "How do I get a refund for a broken kettle",
    "can I change the delivery address",
    "my card was charged twice for the same order",
    "do you ship to Norway?",
)
ANSWER = "Thanks for asking! Here is what you need to know about this, step by step, with a link to the help page."


def synthetic_conversations(count: int, *, seed: int, now: float, days: float = 30.0) -> Iterator[ConversationLog]:
    """``count`` conversations started over the ``days`` before ``now``, in the order they started."""
    rng = random.Random(seed)
    starts = sorted(now - rng.random() * days * DAY for _ in range(count))
    for start in starts:
        yield _conversation(rng, f"c_{rng.getrandbits(128):032x}", start)


def _conversation(rng: random.Random, cid: str, start: float) -> ConversationLog:
    events: list[StoredEvent] = []
    clock = [start]

    def add(kind: str, data: dict[str, Any], client_id: str | None = None, *, wait: float = 0.5) -> StoredEvent:
        clock[0] += rng.uniform(0.5, 1.5) * wait
        events.append(StoredEvent(cid, len(events) + 1, kind, data, clock[0], client_id))
        return events[-1]

    if rng.random() < 0.4:
        add(VISIT, {"page": "/help/orders"}, wait=0.01)
    add(BOT_REPLY, {"text": "Hi! How can I help?", "source": "system"}, wait=0.01)
    turns = rng.choice((1, 1, 2, 2, 2, 3, 3, 4, 5))
    handed_off = False
    for turn in range(turns):
        said = add(CUSTOMER_MESSAGE, {"text": rng.choice(QUESTIONS)}, f"m{turn}", wait=40.0)
        intent = rng.choices(INTENTS, INTENT_WEIGHTS)[0]
        ranking = [{"intent": intent, "p": round(rng.uniform(0.3, 0.99), 4)}, {"intent": rng.choice(INTENTS), "p": 0.1}]
        meta = {"reply_to": said.client_id, "intent": intent, "confidence": ranking[0]["p"], "ranking": ranking}
        if rng.random() < 0.25:
            add(SLOT_SET, {"slot": "order_id", "value": f"PC-{rng.randrange(10**6):06d}", "source": "entity"})
        draw = rng.random()
        if draw < 0.15:
            reason = rng.choice(REASONS)
            answer = add(HANDOFF, {"text": "Let me find a person for you.", **meta, "reason": reason}, wait=1.0)
            add(STATE_CHANGED, {"from": "BOT", "to": "WAITING_FOR_AGENT", "reason": reason}, wait=0.01)
            handed_off = True
        elif draw < 0.25:
            options = [{"intent": intent, "label": intent}, {"intent": rng.choice(INTENTS), "label": "other"}]
            answer = add(CLARIFY, {"text": "Did you mean one of these?", **meta, "options": options}, wait=1.0)
        elif draw < 0.35:
            answer = add(BOT_REPLY, {"text": "Sorry, I did not get that.", **meta, "source": "fallback"}, wait=1.0)
        else:
            answer = add(BOT_REPLY, {"text": ANSWER, **meta, "source": rng.choice(SOURCES)}, wait=1.5)
        if rng.random() < 0.25:
            value = "down" if rng.random() < 0.3 else "up"
            add(FEEDBACK, {"reply": answer.id, "value": value, "comment": None}, f"f{turn}", wait=10.0)
        if handed_off:
            break
    closed = False
    if handed_off and rng.random() < 0.85:
        agent = rng.choice(AGENTS)
        who = {"agent": agent, "display_name": agent.title()}
        add(AGENT_JOINED, who, wait=rng.choice((20.0, 60.0, 240.0)))
        add(STATE_CHANGED, {"from": "WAITING_FOR_AGENT", "to": "WITH_AGENT", **who}, wait=0.01)
        for reply in range(rng.randint(1, 3)):
            add(AGENT_MESSAGE, {"text": "Let me check that for you.", **who}, f"a{reply}", wait=45.0)
            if rng.random() < 0.6:
                add(CUSTOMER_MESSAGE, {"text": "ok thanks"}, f"m{turns + reply}", wait=30.0)
        add(CLOSED, who, wait=20.0)
        add(STATE_CHANGED, {"from": "WITH_AGENT", "to": "CLOSED"}, wait=0.01)
        closed = True
    elif not handed_off and rng.random() < 0.3:
        add(CLOSED, {"by": "customer"}, wait=30.0)
        add(STATE_CHANGED, {"from": "BOT", "to": "CLOSED"}, wait=0.01)
        closed = True
    if closed and rng.random() < 0.5:
        score = rng.choices((1, 2, 3, 4, 5), (1, 1, 2, 4, 5))[0]
        add(SURVEY, {"score": score, "comment": None}, "s1", wait=15.0)
    return ConversationLog(cid, start, events)
