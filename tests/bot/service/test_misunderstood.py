"""Which customer messages the bot failed on, and how they are grouped by meaning."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from bot.core.events import BOT_REPLY, CLARIFY, CUSTOMER_MESSAGE, FEEDBACK, HANDOFF, NewEvent, StoredEvent
from bot.service.misunderstood import (
    DISTANCE_THRESHOLD,
    MessageRef,
    Misunderstood,
    collect,
    failures,
    group,
    group_id,
)
from bot.storage.store import InMemoryStore

T0 = 1_700_000_000.0
HOUR = 3600.0
TOPICS = {"gift": 0, "voucher": 0, "card": 0, "tent": 1, "pole": 1, "crypto": 2, "bitcoin": 2}


class KeywordEmbedder:
    """A deterministic twin: one axis per topic, counting its keywords (no keyword: the zero vector)."""

    dim = 3

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().replace("?", " ").split():
                if word in TOPICS:
                    rows[row, TOPICS[word]] += 1.0
        return rows


class Log:
    """One conversation's stored events, written by hand."""

    def __init__(self, conversation: str = "c_1") -> None:
        self.id = conversation
        self.events: list[StoredEvent] = []

    def add(self, kind: str, at: float, client_id: str | None = None, **data: Any) -> StoredEvent:
        event = StoredEvent(self.id, len(self.events) + 1, kind, data, at, client_id)
        self.events.append(event)
        return event

    def say(self, text: str, at: float, **data: Any) -> StoredEvent:
        return self.add(CUSTOMER_MESSAGE, at, f"m{len(self.events) + 1}", text=text, **data)

    def answer(
        self, kind: str, message: StoredEvent, intent: str = "order_status", p: float = 0.4, **data: Any
    ) -> StoredEvent:
        ranking = [{"intent": intent, "p": p}, {"intent": "other", "p": 0.1}]
        return self.add(kind, message.created_at + 1, reply_to=message.client_id, ranking=ranking, **data)


def reasons(found: list[Misunderstood]) -> dict[str, tuple[str, ...]]:
    return {m.text: m.reasons for m in found}


def test_each_kind_of_failure_is_found_and_nothing_else() -> None:
    log = Log()
    log.add(BOT_REPLY, T0, text="Hi!", source="system")  # the greeting answers nothing
    rephrase = log.say("can I pay with bitcoin", T0 + 10)
    log.answer(BOT_REPLY, rephrase, intent="payment_methods", p=0.31, text="Sorry?", source="fallback", rule="fallback")
    options = [{"intent": "refund_status", "label": "Refund status"}, {"intent": "return_item", "label": "Return"}]
    unresolved = log.say("money back on my voucher", T0 + 20)
    log.answer(CLARIFY, unresolved, intent="refund_status", p=0.45, options=options)
    handed = log.say("the thing with the pole", T0 + 30)  # not a click on the clarification
    log.answer(HANDOFF, handed, intent="damaged_item", p=0.2, reason="low_confidence")
    clicked_on = log.say("refund or return?", T0 + 40)
    log.answer(CLARIFY, clicked_on, intent="refund_status", p=0.5, options=options)
    log.say("Refund status", T0 + 50, chosen_intent="refund_status")  # a click resolves it
    typed = log.say("return thing", T0 + 60)
    log.answer(CLARIFY, typed, options=options)
    log.say("return", T0 + 70)  # an option's label typed resolves it too
    person = log.say("a person please", T0 + 80)
    log.answer(HANDOFF, person, intent="talk_to_human", p=0.99, reason="explicit_request")
    rated = log.say("how much is delivery", T0 + 90)
    answer = log.answer(BOT_REPLY, rated, intent="shipping_cost", p=0.93, text="£4.95", source="template")
    liked = log.say("and to France?", T0 + 100)
    liked_answer = log.answer(BOT_REPLY, liked, intent="shipping_cost", p=0.9, text="£9", source="template")
    log.add(FEEDBACK, T0 + 110, "f1", reply=answer.id, value="down")
    log.add(FEEDBACK, T0 + 111, "f2", reply=liked_answer.id, value="up")

    found = failures(log.events, now=T0 + 120)

    assert reasons(found) == {
        "can I pay with bitcoin": ("fallback",),
        "money back on my voucher": ("unresolved_clarify",),
        "the thing with the pole": ("low_confidence",),
        "how much is delivery": ("thumbs_down",),
    }
    first = found[0]
    assert first.ref == MessageRef("c_1", f"e{rephrase.seq}")
    assert (first.intent, first.confidence, first.at) == ("payment_methods", 0.31, T0 + 10)


def test_an_open_clarification_counts_once_the_customer_has_been_silent_half_an_hour() -> None:
    log = Log()
    asked = log.say("voucher thing", T0)
    log.answer(CLARIFY, asked, options=[{"intent": "refund_status", "label": "Refund status"}])

    assert failures(log.events, now=T0 + 60) == []
    assert reasons(failures(log.events, now=T0 + HOUR)) == {"voucher thing": ("unresolved_clarify",)}


def test_one_message_can_fail_several_ways_and_only_the_period_counts() -> None:
    log = Log()
    old = log.say("tent pole", T0 - 2 * HOUR)
    log.answer(BOT_REPLY, old, text="Sorry?", source="fallback")
    message = log.say("bitcoin?", T0)
    answer = log.answer(BOT_REPLY, message, text="Sorry?", source="fallback")
    log.answer(HANDOFF, message, reason="repeated_failure")
    log.add(FEEDBACK, T0 + 5, "f1", reply=answer.id, value="down")

    found = failures(log.events, since=T0 - HOUR, until=T0 + HOUR, now=T0 + HOUR)

    assert reasons(found) == {"bitcoin?": ("fallback", "repeated_failure", "thumbs_down")}


def misunderstood(text: str, n: int, intent: str | None = None, p: float | None = None) -> Misunderstood:
    return Misunderstood(MessageRef(f"c_{n % 3}", f"e{n}"), text, T0 + n, ("fallback",), intent, p)


GIFTS = ["gift card?", "do you sell a gift voucher", "Gift card?", "voucher for my mum", "gift card gift card", "card"]
TENTS = ["tent pole snapped", "my pole broke", "tent is torn"]


def test_two_clear_groups_come_biggest_first_with_their_details() -> None:
    messages = [misunderstood(t, n, "gift_cards" if n % 2 else "payment", 0.3 + n / 100) for n, t in enumerate(GIFTS)]
    messages += [misunderstood(t, 10 + n, "damaged_item", 0.5) for n, t in enumerate(TENTS)]
    messages.append(misunderstood("hello?", 20, None))  # no keyword: alone

    groups = group(messages, KeywordEmbedder())

    assert [g.size for g in groups] == [6, 3, 1]
    gifts, tents, alone = groups
    assert {m.text for m in gifts.messages} == set(GIFTS)
    assert len(gifts.examples) == 5 and gifts.examples[0] == "gift card?"  # "Gift card?" is the same example
    assert "Gift card?" not in gifts.examples
    assert gifts.intent == "gift_cards" and gifts.confidence == pytest.approx((0.31 + 0.33 + 0.35) / 3, abs=1e-4)
    assert gifts.reasons == {"fallback": 6}
    assert (tents.intent, tents.confidence, tents.examples) == ("damaged_item", 0.5, tuple(TENTS))
    assert gifts.id == group_id(gifts.refs) and gifts.id.startswith("g_")
    assert alone.intent is None and alone.confidence is None
    data = gifts.to_dict()
    assert set(data) == {"id", "size", "examples", "intent", "confidence", "reasons", "messages"}
    assert data["messages"][0] == {
        "conversation": "c_0",
        "event": "e0",
        "text": "gift card?",
        "at": "2023-11-14T22:13:20+00:00",
        "reasons": ["fallback"],
        "intent": "payment",
        "confidence": 0.3,
    }


def test_the_same_messages_give_the_same_groups_in_any_order() -> None:
    messages = [misunderstood(t, n) for n, t in enumerate(GIFTS + TENTS)]

    forward = group(messages, KeywordEmbedder())
    backward = group(list(reversed(messages)), KeywordEmbedder())

    assert [g.id for g in forward] == [g.id for g in backward]
    assert group([], KeywordEmbedder()) == []
    [single] = group(messages[:1], KeywordEmbedder())
    assert single.size == 1 and single.examples == ("gift card?",)


def test_only_the_most_recent_messages_are_grouped_past_the_limit() -> None:
    messages = [misunderstood(t, n) for n, t in enumerate(GIFTS + TENTS)]

    groups = group(messages, KeywordEmbedder(), limit=3)

    assert {m.text for g in groups for m in g.messages} == set(TENTS)


async def test_collect_reads_every_conversation_of_the_store_and_leaves_out_the_excluded() -> None:
    store = InMemoryStore()
    refs = []
    for text in ("gift card?", "tent pole"):
        conversation = await store.create_conversation(f"token-{text}")
        [message] = await store.append(conversation, [NewEvent(CUSTOMER_MESSAGE, {"text": text}, client_id="m1")])
        await store.append(
            conversation, [NewEvent(BOT_REPLY, {"text": "Sorry?", "source": "fallback", "reply_to": "m1"})]
        )
        refs.append(MessageRef(conversation, f"e{message.seq}"))

    found = await collect(store)
    kept = await collect(store, exclude=[refs[0]])
    later = await collect(store, since=found[-1].at + 10)

    assert [m.ref for m in found] == refs
    assert [m.text for m in kept] == ["tent pole"]
    assert later == []


def test_the_threshold_groups_paraphrases_apart_with_the_real_embedder(embedder: Any) -> None:
    """The documented choice: on MiniLM, paraphrase sets of shop topics come out as pure groups."""
    topics = {
        "gift": [
            "can I buy a gift card",
            "do you sell gift vouchers",
            "gift card for my sister?",
            "are there gift certificates",
        ],
        "student": ["is there a student discount", "do students get money off", "student discount code?"],
        "tent": ["my tent pole snapped", "the tent pole is broken", "one of the poles of my tent cracked"],
        "other": ["what is your return policy", "asdfgh", "how long is the warranty on boots"],
    }
    messages = [misunderstood(text, n) for n, text in enumerate(t for texts in topics.values() for t in texts)]
    topic_of = {text: name for name, texts in topics.items() for text in texts}

    groups = group(messages, embedder, threshold=DISTANCE_THRESHOLD)

    assert all(len({topic_of[m.text] for m in g.messages}) == 1 for g in groups)  # no group mixes topics
    sizes = {topic_of[g.messages[0].text]: g.size for g in groups if g.size > 1}
    assert sizes == {"gift": 4, "student": 3, "tent": 3}
