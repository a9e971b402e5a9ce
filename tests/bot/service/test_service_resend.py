"""ChatService: a message stored but never answered is answered when it is resent, exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from bot.bus.inprocess import InProcessBus
from bot.core.events import CUSTOMER_MESSAGE, NewEvent, StoredEvent
from bot.errors import StoreError
from bot.service.brain import Brain
from bot.service.chat import ChatService
from bot.storage.store import InMemoryStore

ORDER = "How much is delivery?"


class FailsOnce(InMemoryStore):
    """Fails the first append that holds no customer message (the bot's answer), as a dying database would."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False

    async def append(
        self, conversation_id: str, events: Sequence[NewEvent], *, after: int | None = None
    ) -> list[StoredEvent]:
        if self.armed and all(e.kind != CUSTOMER_MESSAGE for e in events):
            self.armed = False
            raise StoreError("database is gone")
        return await super().append(conversation_id, events, after=after)


@pytest.fixture
async def unanswered(demo_brain: Brain) -> AsyncIterator[tuple[ChatService, FailsOnce, str]]:
    """A service whose conversation holds m1 stored but unanswered: the store failed on the answer."""
    store = FailsOnce()
    service = ChatService(store=store, bus=InProcessBus(), brain=demo_brain)
    try:
        session = await service.open_session(None)
        store.armed = True
        with pytest.raises(StoreError):
            await service.customer_message(session.conversation_id, client_id="m1", text=ORDER)
        yield service, store, session.conversation_id
    finally:
        await service.close()


async def test_a_message_whose_answer_failed_is_answered_on_resend(
    unanswered: tuple[ChatService, FailsOnce, str],
) -> None:
    service, store, conversation = unanswered

    duplicate, events = await service.customer_message(conversation, client_id="m1", text=ORDER)
    again, repeated = await service.customer_message(conversation, client_id="m1", text=ORDER)

    stored = await store.events(conversation)
    assert duplicate and [e.client_id for e in events] == ["m1"]  # the answer went out on the bus
    assert [e.client_id for e in stored if e.kind == CUSTOMER_MESSAGE] == ["m1"]
    answers = [e for e in stored if e.data.get("reply_to") == "m1"]
    assert len(answers) == 1  # answered once, not again on the second resend
    assert again and repeated[1:] == answers


async def test_an_older_unanswered_message_is_not_answered_late(
    unanswered: tuple[ChatService, FailsOnce, str],
) -> None:
    service, store, conversation = unanswered
    await service.customer_message(conversation, client_id="m2", text="do you ship to Germany?")

    _, events = await service.customer_message(conversation, client_id="m1", text=ORDER)

    assert [e.client_id for e in events] == ["m1"]
    assert not [e for e in await store.events(conversation) if e.data.get("reply_to") == "m1"]
