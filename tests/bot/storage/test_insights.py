"""bot.storage.insights: one contract for the in-memory twin, SQLite and PostgreSQL.

The same conversations, written through each conversation store at chosen times (``time.time``
is the clock every store reads), must give the same figures, worked out here by hand from the
definitions in bot/storage/insights.py.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.core.events import (
    AGENT_JOINED,
    AGENT_MESSAGE,
    BOT_REPLY,
    CLARIFY,
    CLOSED,
    CUSTOMER_MESSAGE,
    FEEDBACK,
    HANDED_BACK,
    HANDOFF,
    STATE_CHANGED,
    SURVEY,
    NewEvent,
)
from bot.storage.insights import (
    AgentScore,
    Count,
    InsightsStore,
    IntentThumbs,
    Outcomes,
    Period,
    Satisfaction,
    Waits,
    gather,
)
from bot.storage.insights_memory import InMemoryInsights
from bot.storage.postgres.insights import PostgresInsights
from bot.storage.postgres.store import PostgresStore
from bot.storage.sqlite.insights import SQLiteInsights
from bot.storage.sqlite.store import SQLiteStore
from bot.storage.store import InMemoryStore, Store

DAY = 86_400
D = 19_675 * DAY  # 2023-11-14 00:00 UTC: day 0 of the period
UNTIL = D + 2 * DAY  # the period is days 0 and 1
PERIOD = Period(D, UNTIL)


class Clock:
    def __init__(self) -> None:
        self.now = float(D)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(time, "time", fake)
    return fake


@dataclass
class Backend:
    store: Store
    insights: InsightsStore


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "memory":
        memory = InMemoryStore()
        yield Backend(memory, InMemoryInsights(memory))
        return
    if request.param == "sqlite":
        path = tmp_path / "deskmate.sqlite3"
        sqlite = await SQLiteStore(path).open()
        insights: InsightsStore = await SQLiteInsights(path).open()
        yield Backend(sqlite, insights)
        await insights.close()
        await sqlite.close()
        return
    postgres = await PostgresStore(request.getfixturevalue("postgres").new_database()).open()
    insights = await PostgresInsights(postgres.pool).open()  # sharing the store's pool
    yield Backend(postgres, insights)
    await insights.close()
    await postgres.close()


# The events of a conversation, as the chat service stores them -------------------------------


def greeting() -> NewEvent:
    return NewEvent(BOT_REPLY, {"text": "Hi! How can I help?", "source": "system"})


def said(n: int) -> NewEvent:
    return NewEvent(CUSTOMER_MESSAGE, {"text": f"question {n}"}, client_id=f"m{n}")


def reply(intent: str, source: str = "template") -> NewEvent:
    return NewEvent(BOT_REPLY, {"text": "an answer", "source": source, "intent": intent, "confidence": 0.9})


def clarify(intent: str) -> NewEvent:
    return NewEvent(CLARIFY, {"text": "Did you mean...?", "intent": intent, "options": [{"intent": intent}]})


def handoff(reason: str) -> list[NewEvent]:
    return [
        NewEvent(HANDOFF, {"text": "Let me find a person.", "intent": "human", "reason": reason}),
        NewEvent(STATE_CHANGED, {"from": "BOT", "to": "WAITING_FOR_AGENT", "reason": reason}),
    ]


def joined(agent: str) -> list[NewEvent]:
    who = {"agent": agent, "display_name": agent.title()}
    return [NewEvent(AGENT_JOINED, who), NewEvent(STATE_CHANGED, {"from": "WAITING_FOR_AGENT", "to": "WITH_AGENT"})]


def agent_says(agent: str, n: int) -> NewEvent:
    return NewEvent(
        AGENT_MESSAGE, {"text": "I'm on it", "agent": agent, "display_name": agent.title()}, client_id=f"a{n}"
    )


def thumb(reply_seq: int, value: str) -> NewEvent:
    return NewEvent(FEEDBACK, {"reply": f"e{reply_seq}", "value": value, "comment": None}, client_id=f"f{reply_seq}")


def closed(**by: str) -> list[NewEvent]:
    return [NewEvent(CLOSED, dict(by)), NewEvent(STATE_CHANGED, {"from": "BOT", "to": "CLOSED"})]


def survey(score: int) -> NewEvent:
    return NewEvent(SURVEY, {"score": score, "comment": None}, client_id="s1")


Step = tuple[float, NewEvent | list[NewEvent]]  # seconds after the previous step, what is stored then


async def write(store: Store, clock: Clock, start: float, steps: Sequence[Step]) -> str:
    clock.now = start
    conversation = await store.create_conversation(f"token-{start}")
    for wait, events in steps:
        clock.now += wait
        await store.append(conversation, events if isinstance(events, list) else [events])
    return conversation


async def write_the_period(store: Store, clock: Clock) -> None:
    """Thirteen conversations started in the period, one before it (seq numbers in the comments)."""
    # A: answered, thumbs up (e3)                                                   resolved
    await write(
        store, clock, D + 1_000, [(1, greeting()), (20, said(1)), (1, reply("order_status")), (9, thumb(3, "up"))]
    )
    # B: answered, thumbs down                                                       rated down
    await write(
        store,
        clock,
        D + 2_000,
        [(1, greeting()), (20, said(1)), (1, reply("refund", "retrieved")), (5, thumb(3, "down"))],
    )
    # C: a clarification, then nothing                                               abandoned
    await write(store, clock, D + 3_000, [(1, greeting()), (20, said(1)), (1, clarify("delivery"))])
    # D: a fallback, then nothing (fallbacks are no top intent)                      abandoned
    await write(store, clock, D + 4_000, [(1, greeting()), (20, said(1)), (1, reply("refund", "fallback"))])
    # E: a fallback, but the customer wrote again and got an answer                  resolved
    await write(
        store,
        clock,
        D + 5_000,
        [(1, greeting()), (20, said(1)), (1, reply("refund", "fallback")), (60, said(2)), (1, reply("delivery"))],
    )
    # F: explicit request; alice joins after 120 s, writes 300 s after the handoff (e4); a thumb
    # down on the handoff (intent "human"); closed; survey 4 for alice              escalated, rated down
    await write(
        store,
        clock,
        D + 6_000,
        [
            (1, greeting()),
            (20, said(1)),
            (1, handoff("explicit_request")),  # e3, e4
            (0, thumb(3, "down")),  # e5
            (120, joined("alice")),  # e6, e7
            (180, agent_says("alice", 1)),
            (60, closed(agent="alice")),
            (10, survey(4)),
        ],
    )
    # G: low confidence; bob joins after 60 s, writes after 90 s, hands back; the bot answers
    # again; the customer ends the chat; survey 2, credited to bob                   escalated
    await write(
        store,
        clock,
        D + 7_000,
        [
            (1, greeting()),
            (20, said(1)),
            (1, handoff("low_confidence")),
            (60, joined("bob")),
            (30, agent_says("bob", 1)),
            (
                30,
                [NewEvent(HANDED_BACK, {"agent": "bob"}), NewEvent(STATE_CHANGED, {"from": "WITH_AGENT", "to": "BOT"})],
            ),
            (10, said(2)),
            (1, reply("order_status")),
            (30, closed(by="customer")),
            (5, survey(2)),
        ],
    )
    # H: low confidence, nobody joined yet                                           escalated
    await write(store, clock, D + 8_000, [(1, greeting()), (20, said(1)), (1, handoff("low_confidence"))])
    # I: the greeting only                                                           not engaged
    await write(store, clock, D + 9_000, [(1, greeting())])
    # J: answered, then carol stepped in without a handoff                           escalated
    await write(
        store,
        clock,
        D + 10_000,
        [
            (1, greeting()),
            (20, said(1)),
            (1, reply("order_status")),
            (30, joined("carol")),
            (5, agent_says("carol", 1)),
        ],
    )
    # N: answered; a thumb down comes after the period (unknown at UNTIL)            resolved
    await write(
        store, clock, D + 11_000, [(1, greeting()), (20, said(1)), (1, reply("refund")), (3 * DAY, thumb(3, "down"))]
    )
    # K (day 1): answered, the customer ends the chat, survey 5, no agent            resolved
    await write(
        store,
        clock,
        D + DAY + 500,
        [(1, greeting()), (20, said(1)), (1, reply("warranty")), (30, closed(by="customer")), (5, survey(5))],
    )
    # L (day 1): a clarification ten minutes before the end: not abandoned yet       resolved
    await write(store, clock, UNTIL - 600, [(1, greeting()), (20, said(1)), (1, clarify("delivery"))])
    # M: started the day before; its handoff falls in the period, agent after 30 s, message after 45 s
    await write(
        store,
        clock,
        D - 3_000,
        [
            (1, greeting()),
            (20, said(1)),
            (3_039, handoff("repeated_failure")),
            (30, joined("alice")),
            (15, agent_says("alice", 1)),
        ],
    )


async def test_every_figure_of_a_period(backend: Backend, clock: Clock) -> None:
    await write_the_period(backend.store, clock)
    insights = backend.insights

    overview = await insights.overview(PERIOD)
    assert overview == Outcomes(conversations=13, engaged=12, escalated=4, rated_down=2, abandoned=2, resolved=5)
    assert overview.resolved_share == pytest.approx(5 / 12)
    assert await insights.handoff_reasons(PERIOD) == [
        Count("low_confidence", 2),
        Count("explicit_request", 1),
        Count("repeated_failure", 1),
    ]
    assert await insights.waits(PERIOD) == Waits(
        handoffs=4, joined=3, answered=3, median_to_join=60.0, median_to_first_message=90.0
    )
    satisfaction = await insights.satisfaction(PERIOD)
    assert satisfaction == Satisfaction(
        surveys=3,
        average=pytest.approx(11 / 3),
        distribution=(0, 1, 0, 1, 1),
        by_agent=(AgentScore("alice", 1, 4.0), AgentScore("bob", 1, 2.0), AgentScore(None, 1, 5.0)),
    )
    assert await insights.thumbs_by_intent(PERIOD) == [
        IntentThumbs("human", 0, 1),
        IntentThumbs("order_status", 1, 0),
        IntentThumbs("refund", 0, 1),
    ]
    assert await insights.top_intents(PERIOD) == [
        Count("order_status", 3),
        Count("refund", 2),
        Count("delivery", 1),
        Count("warranty", 1),
    ]
    assert await insights.top_intents(PERIOD, 2) == [Count("order_status", 3), Count("refund", 2)]

    day0, day1 = await insights.daily(PERIOD)
    assert (day0.day, day1.day) == ("2023-11-14", "2023-11-15")
    assert day0.outcomes == Outcomes(11, 10, 4, 2, 2, 3)
    assert day1.outcomes == Outcomes(2, 2, 0, 0, 0, 2)
    assert (day0.handoffs, day0.thumbs_up, day0.thumbs_down, day0.surveys, day0.average_score) == (4, 1, 2, 2, 3.0)
    assert (day1.handoffs, day1.thumbs_up, day1.thumbs_down, day1.surveys, day1.average_score) == (0, 0, 0, 1, 5.0)


async def test_a_later_end_sees_more(backend: Backend, clock: Clock) -> None:
    """Moving ``until`` a day on: L is abandoned now, N's late thumb down counts."""
    await write_the_period(backend.store, clock)
    later = Period(D, UNTIL + DAY)

    overview = await backend.insights.overview(later)

    assert (overview.abandoned, overview.rated_down, overview.resolved) == (3, 2, 4)  # N's thumb is 3 days on
    four_days = await backend.insights.overview(Period(D, D + 4 * DAY))
    assert (four_days.abandoned, four_days.rated_down, four_days.resolved) == (3, 3, 3)


async def test_the_store_and_the_reference_agree(backend: Backend, clock: Clock) -> None:
    await write_the_period(backend.store, clock)
    reference = InMemoryInsights(backend.store)  # the reference, reading this very store

    for period in (PERIOD, Period(D + 5_500, D + 7_500), Period(D - DAY, UNTIL + 5 * DAY)):
        assert await gather(backend.insights, period) == await gather(reference, period)


async def test_an_empty_period(backend: Backend, clock: Clock) -> None:
    await write_the_period(backend.store, clock)
    before = Period(D - 10 * DAY, D - 8 * DAY - 1)

    figures = await gather(backend.insights, before)

    assert figures.overview == Outcomes()
    assert figures.overview.resolved_share is None
    assert figures.handoff_reasons == [] and figures.thumbs == [] and figures.top_intents == []
    assert figures.waits == Waits(0, 0, 0, None, None)
    assert figures.satisfaction == Satisfaction(0, None, (0, 0, 0, 0, 0), ())
    assert [d.day for d in figures.daily] == ["2023-11-04", "2023-11-05"]
    assert all(d.outcomes == Outcomes() and d.average_score is None for d in figures.daily)


def test_a_period_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="must end after it starts"):
        Period(D, D)
    assert Period.last_days(30, now=UNTIL) == Period(UNTIL - 30 * DAY, UNTIL)
    assert list(Period(D, UNTIL).day_numbers()) == [19_675, 19_676]
