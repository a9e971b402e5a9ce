"""bot.service.candidates and the candidate stores: one contract for the in-memory twin, SQLite and PostgreSQL, and the review flow."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.events import (
    AGENT_JOINED,
    AGENT_MESSAGE,
    BOT_REPLY,
    CUSTOMER_MESSAGE,
    HANDOFF,
    STATE_CHANGED,
    StoredEvent,
)
from bot.errors import CandidateError, KBValidationError, StoreError
from bot.service.candidates import CandidateReview, open_question
from bot.storage.candidates import Candidate, CandidateStatus, CandidateStore, InMemoryCandidateStore, parse_status
from bot.storage.postgres.candidates import PostgresCandidateStore
from bot.storage.sqlite.candidates import SQLiteCandidateStore
from kb.approved import APPROVED

PENDING, APPROVED_, DISCARDED = CandidateStatus.PENDING, CandidateStatus.APPROVED, CandidateStatus.DISCARDED


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CandidateStore]:
    if request.param == "memory":
        instance: CandidateStore = InMemoryCandidateStore()
    elif request.param == "sqlite":
        instance = await SQLiteCandidateStore(tmp_path / "db" / "deskmate.sqlite3").open()
    else:
        instance = await PostgresCandidateStore(request.getfixturevalue("postgres").new_database()).open()
    yield instance
    await instance.close()


@pytest.fixture
def kb_root(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    root.mkdir()
    (root / "kb.yml").write_text("name: Lamp Corner\nmasking:\n  order_id: 'PO-\\d{6}'\n", encoding="utf-8")
    return root


@pytest.fixture
def review(store: CandidateStore, kb_root: Path) -> CandidateReview:
    return CandidateReview(store, kb_root)


async def add(
    store: CandidateStore, question: str = "does the lamp dim", answer: str = "Yes, in 3 steps."
) -> Candidate:
    return await store.add(conversation_id="c_1", question=question, answer=answer, agent="maria")


def approved_lines(root: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (root / APPROVED).read_text(encoding="utf-8").splitlines()]


# --- the store contract --------------------------------------------------------------------------


async def test_add_and_get(store: CandidateStore) -> None:
    candidate = await add(store)

    assert candidate.id.startswith("cand_")
    assert candidate.status is PENDING
    assert (candidate.question, candidate.answer, candidate.agent) == ("does the lamp dim", "Yes, in 3 steps.", "maria")
    assert candidate.conversation_id == "c_1"
    assert candidate.decided_by is None and candidate.decided_at is None
    assert await store.get(candidate.id) == candidate
    assert await store.get("cand_unknown") is None


async def test_list_is_newest_first_and_filters_by_status(store: CandidateStore) -> None:
    first, second, third = [await add(store, question=f"question {n}") for n in range(3)]
    await store.decide(second.id, DISCARDED, "admin")

    assert [c.id for c in await store.list()] == [third.id, second.id, first.id]
    assert [c.id for c in await store.list(limit=2)] == [third.id, second.id]
    assert [c.id for c in await store.list(PENDING)] == [third.id, first.id]
    assert [c.id for c in await store.list(DISCARDED)] == [second.id]
    assert await store.list(APPROVED_) == []


async def test_decide_records_who_and_when(store: CandidateStore) -> None:
    candidate = await add(store)

    decided = await store.decide(candidate.id, APPROVED_, "admin")

    assert decided.status is APPROVED_
    assert decided.decided_by == "admin"
    assert decided.decided_at is not None and decided.decided_at >= candidate.created_at
    assert decided.answer == candidate.answer
    assert await store.get(candidate.id) == decided


async def test_edit_then_approve(store: CandidateStore) -> None:
    candidate = await add(store)

    decided = await store.decide(candidate.id, APPROVED_, "admin", answer="  Yes: hold the switch to dim it.  ")

    assert decided.answer == "Yes: hold the switch to dim it."
    assert (await store.get(candidate.id)) == decided


async def test_deciding_again_the_same_way_changes_nothing(store: CandidateStore) -> None:
    candidate = await add(store)
    first = await store.decide(candidate.id, APPROVED_, "admin", answer="edited")

    again = await store.decide(candidate.id, APPROVED_, "someone-else")
    same_edit = await store.decide(candidate.id, APPROVED_, "someone-else", answer="edited")

    assert again == first == same_edit
    assert await store.get(candidate.id) == first


async def test_discarding(store: CandidateStore) -> None:
    candidate = await add(store)

    discarded = await store.decide(candidate.id, DISCARDED, "admin", answer="ignored when discarding")

    assert discarded.status is DISCARDED
    assert discarded.answer == candidate.answer
    assert await store.decide(candidate.id, DISCARDED, "admin") == discarded
    with pytest.raises(CandidateError, match="already discarded by admin; decisions are final"):
        await store.decide(candidate.id, APPROVED_, "admin")
    assert await store.get(candidate.id) == discarded


async def test_conflicting_decisions_are_refused(store: CandidateStore) -> None:
    candidate = await add(store)
    approved = await store.decide(candidate.id, APPROVED_, "admin")

    with pytest.raises(CandidateError, match="already approved by admin"):
        await store.decide(candidate.id, DISCARDED, "admin")
    with pytest.raises(CandidateError, match=r"already approved with another answer; edit approved\.jsonl"):
        await store.decide(candidate.id, APPROVED_, "admin", answer="something else")
    with pytest.raises(CandidateError, match="candidates start out pending"):
        await store.decide(candidate.id, PENDING, "admin")
    with pytest.raises(CandidateError, match="no candidate 'cand_nope'; list the pending ones"):
        await store.decide("cand_nope", APPROVED_, "admin")
    assert await store.get(candidate.id) == approved


async def test_an_empty_edit_is_refused(store: CandidateStore) -> None:
    candidate = await add(store)

    with pytest.raises(CandidateError, match=r"edited answer .* is empty"):
        await store.decide(candidate.id, APPROVED_, "admin", answer="   ")
    assert (await store.get(candidate.id)) == candidate


def test_parse_status() -> None:
    assert parse_status("approved") is APPROVED_
    with pytest.raises(CandidateError, match="use one of pending, approved, discarded"):
        parse_status("accepted")


# --- SQLite specifics ------------------------------------------------------------------------------


async def test_sqlite_candidates_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "deskmate.sqlite3"
    store = await SQLiteCandidateStore(path).open()
    candidate = await add(store)
    decided = await store.decide(candidate.id, APPROVED_, "admin", answer="edited")
    await store.close()

    reopened = await SQLiteCandidateStore(path).open()
    try:
        assert await reopened.get(candidate.id) == decided
        assert (await reopened.list(APPROVED_)) == [decided]
    finally:
        await reopened.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_sqlite_errors_become_store_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database folder should be", encoding="utf-8")
    with pytest.raises(StoreError, match=r"cannot open the candidate database .*check the path exists"):
        await SQLiteCandidateStore(blocker / "deskmate.sqlite3").open()

    store = SQLiteCandidateStore(tmp_path / "unopened.sqlite3")
    with pytest.raises(StoreError, match=re.escape("call `await store.open()` first")):
        await store.get("cand_x")
    await store.close()

    store = await SQLiteCandidateStore(tmp_path / "broken.sqlite3").open()
    try:
        await store._run(lambda: store._db.execute("DROP TABLE candidates"))
        with pytest.raises(StoreError, match=r"database error on .*no such table"):
            await add(store)
    finally:
        await store.close()


# --- the review flow ---------------------------------------------------------------------------------


async def test_recording_deidentifies_personal_data(review: CandidateReview, store: CandidateStore) -> None:
    candidate = await review.record(
        conversation_id="c_9",
        question="I'm ann@example.com, where is PO-204518? Call 07700 900123",
        answer="  Hi Ann, PO-204518 ships today; we mailed ann@example.com  ",
        agent="maria",
    )

    assert candidate is not None
    assert candidate.question == "I'm {email}, where is {order_id}? Call {phone}"
    assert candidate.answer == "Hi {name}, {order_id} ships today; we mailed {email}"
    assert await store.get(candidate.id) == candidate


async def test_recording_nothing_to_learn_stores_nothing(review: CandidateReview, store: CandidateStore) -> None:
    assert await review.record(conversation_id="c_9", question="   ", answer="Hello!", agent="maria") is None
    assert await review.record(conversation_id="c_9", question="hello?", answer="", agent="maria") is None
    assert await store.list() == []


async def test_approving_writes_approved_jsonl_once(review: CandidateReview, kb_root: Path) -> None:
    candidate = await review.record(conversation_id="c_9", question="does it dim", answer="Yes.", agent="maria")
    assert candidate is not None

    approved = await review.approve(candidate.id, by="admin")
    again = await review.approve(candidate.id, by="admin")

    assert approved.status is APPROVED_ and again == approved
    (line,) = approved_lines(kb_root)
    assert line["id"] == candidate.id
    assert (line["question"], line["answer"], line["agent"]) == ("does it dim", "Yes.", "maria")
    assert line["conversation_id"] == "c_9"
    assert isinstance(line["approved_at"], float)
    assert not [p for p in kb_root.iterdir() if p.name.endswith(".tmp")]


async def test_edit_then_approve_deidentifies_the_edit(review: CandidateReview, kb_root: Path) -> None:
    candidate = await review.record(conversation_id="c_9", question="where is it", answer="On its way.", agent="maria")
    assert candidate is not None

    approved = await review.approve(candidate.id, by="admin", answer="It left on Monday; ask me at bob@example.com")

    assert approved.answer == "It left on Monday; ask me at {email}"
    assert [line["answer"] for line in approved_lines(kb_root)] == [approved.answer]


async def test_a_name_the_customer_gave_is_masked_in_the_answer_too(review: CandidateReview) -> None:
    candidate = await review.record(
        conversation_id="c_9",
        question="this is Harriet Quayle, is my lamp {broken}?",
        answer="Sorry to hear that. Quayle is the name on the order, so we'll send a new one.",
        agent="maria",
    )

    assert candidate is not None
    assert candidate.question == "this is {name}, is my lamp {{broken}}?"
    assert candidate.answer == "Sorry to hear that. {name} is the name on the order, so we'll send a new one."


async def test_the_same_pair_is_written_once(review: CandidateReview, kb_root: Path) -> None:
    first = await review.record(conversation_id="c_1", question="Does it dim?", answer="Yes.", agent="maria")
    second = await review.record(conversation_id="c_2", question="does  it DIM?", answer="yes.", agent="tom")
    assert first is not None and second is not None

    await review.approve(first.id, by="admin")
    decided = await review.approve(second.id, by="admin")

    assert decided.status is APPROVED_
    assert [line["id"] for line in approved_lines(kb_root)] == [first.id]


async def test_discarding_writes_nothing(review: CandidateReview, kb_root: Path) -> None:
    candidate = await review.record(
        conversation_id="c_9", question="does it dim", answer="No idea, sorry", agent="maria"
    )
    assert candidate is not None

    discarded = await review.discard(candidate.id, by="admin")

    assert discarded.status is DISCARDED and discarded.decided_by == "admin"
    with pytest.raises(CandidateError, match="already discarded"):
        await review.approve(candidate.id, by="admin")
    assert not (kb_root / APPROVED).exists()


async def test_approving_unknown_or_with_a_broken_file(review: CandidateReview, kb_root: Path) -> None:
    with pytest.raises(CandidateError, match="no candidate 'cand_nope'"):
        await review.approve("cand_nope", by="admin")

    candidate = await review.record(conversation_id="c_9", question="does it dim", answer="Yes.", agent="maria")
    assert candidate is not None
    (kb_root / APPROVED).write_text("{not json\n", encoding="utf-8")
    with pytest.raises(KBValidationError, match=re.escape("approved.jsonl:1: invalid JSON")):
        await review.approve(candidate.id, by="admin")
    assert (await review.store.get(candidate.id)) == candidate  # still pending: nothing was decided


def test_open_question_is_what_the_customer_said_since_the_last_reply() -> None:
    def event(seq: int, kind: str, text: str | None = None) -> StoredEvent:
        return StoredEvent("c_1", seq, kind, {} if text is None else {"text": text}, float(seq))

    events = [
        event(1, BOT_REPLY, "Hi!"),
        event(2, CUSTOMER_MESSAGE, "the old question"),
        event(3, BOT_REPLY, "an answer"),
        event(4, CUSTOMER_MESSAGE, "my lamp hums"),
        event(5, HANDOFF, "connecting you"),
        event(6, STATE_CHANGED),
        event(7, CUSTOMER_MESSAGE, "  hello?  "),
        event(8, AGENT_JOINED),
    ]

    assert open_question(events) == "hello?"
    assert open_question(events[:5]) is None
    assert open_question([e for e in events if e.kind != HANDOFF]) == "my lamp hums\nhello?"
    assert open_question([*events, event(9, AGENT_MESSAGE, "try another socket")]) is None
