"""bot.web.protocol: client frame validation with wire error codes, and server frame shapes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.core.events import BOT_REPLY, CLARIFY, CUSTOMER_MESSAGE, HANDOFF, STATE_CHANGED, StoredEvent, iso
from bot.errors import ProtocolError
from bot.web.protocol import MAX_TEXT, error_frame, event_frame, history_item, parse_client_frame


def frame(**fields: Any) -> str:
    return json.dumps(fields)


# --- valid client frames ----------------------------------------------------------------------


def test_hello_new_and_resume() -> None:
    new = {"type": "hello", "session": None, "page": None, "language": None}
    assert parse_client_frame(frame(type="hello", session=None)) == new
    assert parse_client_frame(frame(type="hello")) == new
    resumed = parse_client_frame(frame(type="hello", session="k3J-x"))
    assert resumed == {**new, "session": "k3J-x"}


@pytest.mark.parametrize(("tag", "language"), [("zh-CN", "zh"), ("en_GB", "en"), ("es", "es"), ("", None), ("x!", None)])
def test_hello_carries_the_browser_language(tag: str, language: str | None) -> None:
    assert parse_client_frame(frame(type="hello", language=tag))["language"] == language


def test_hello_with_a_bad_language_is_refused() -> None:
    with pytest.raises(ProtocolError, match="language"):
        parse_client_frame(frame(type="hello", language=["zh"]))


@pytest.mark.parametrize(
    ("page", "shown"),
    [
        ("https://shop.example/checkout?email=jo@example.com#pay", "https://shop.example/checkout"),
        ("http://user:secret@shop.example:8080/a/b", "http://shop.example:8080/a/b"),
        ("https://shop.example", "https://shop.example/"),
        ("file:///home/jo/page.html", None),
        ("javascript:alert(1)", None),
        ("not a url", None),
        ("", None),
    ],
)
def test_hello_keeps_only_the_pages_http_address_without_query(page: str, shown: str | None) -> None:
    """The page goes to agents: never its query or fragment (personal data), never a non-http URL."""
    assert parse_client_frame(frame(type="hello", session=None, page=page))["page"] == shown


def test_hello_refuses_a_page_that_is_not_a_string_or_too_long() -> None:
    for page in (42, "https://shop.example/" + "a" * 3000):
        with pytest.raises(ProtocolError) as refused:
            parse_client_frame(frame(type="hello", session=None, page=page))
        assert refused.value.code == "bad_frame"


def test_message() -> None:
    parsed = parse_client_frame(frame(type="message", id="m1", text="  Where is my order?  "))

    assert parsed == {"type": "message", "id": "m1", "text": "Where is my order?"}
    assert "intent" not in parsed


def test_message_with_chosen_intent() -> None:
    parsed = parse_client_frame(frame(type="message", id="m2", text="Track an order", intent="order_status"))

    assert parsed == {"type": "message", "id": "m2", "text": "Track an order", "intent": "order_status"}


def test_message_with_null_intent() -> None:
    assert parse_client_frame(frame(type="message", id="m2", text="hi", intent=None)) == {
        "type": "message",
        "id": "m2",
        "text": "hi",
    }


def test_bytes_and_limits_at_the_edge() -> None:
    text = "é" * MAX_TEXT
    parsed = parse_client_frame(frame(type="message", id="x" * 64, text=text).encode("utf-8"))

    assert parsed["text"] == text
    assert parse_client_frame(frame(type="hello", session="s" * 200))["session"] == "s" * 200


def test_unknown_extra_fields_are_ignored() -> None:
    assert parse_client_frame(frame(type="message", id="m1", text="hi", extra=[1, 2])) == {
        "type": "message",
        "id": "m1",
        "text": "hi",
    }


# --- malformed client frames --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code", "ref"),
    [
        # not JSON
        ("not json", "bad_json", None),
        ("", "bad_json", None),
        ('{"type": "hello"', "bad_json", None),
        (b"\xff\xfe{}", "bad_json", None),
        ("[" * 100_000 + "]" * 100_000, "bad_json", None),
        # JSON but not a frame
        ("[1, 2]", "bad_frame", None),
        ('"hello"', "bad_frame", None),
        ("null", "bad_frame", None),
        ("42", "bad_frame", None),
        ("{}", "bad_frame", None),
        (frame(type="bye"), "bad_frame", None),
        (frame(type=None), "bad_frame", None),
        (frame(type=["hello"]), "bad_frame", None),
        (frame(type="HELLO", session=None), "bad_frame", None),
        # hello
        (frame(type="hello", session=""), "bad_frame", None),
        (frame(type="hello", session=123), "bad_frame", None),
        (frame(type="hello", session={"token": "x"}), "bad_frame", None),
        (frame(type="hello", session="s" * 201), "bad_frame", None),
        # message id: no ref, there is no usable id
        (frame(type="message", text="hi"), "bad_frame", None),
        (frame(type="message", id="", text="hi"), "bad_frame", None),
        (frame(type="message", id=7, text="hi"), "bad_frame", None),
        (frame(type="message", id=None, text="hi"), "bad_frame", None),
        (frame(type="message", id="x" * 65, text="hi"), "bad_frame", None),
        # message text: ref is the id
        (frame(type="message", id="m1"), "bad_frame", "m1"),
        (frame(type="message", id="m1", text=""), "bad_frame", "m1"),
        (frame(type="message", id="m1", text=" \n\t "), "bad_frame", "m1"),
        (frame(type="message", id="m1", text=42), "bad_frame", "m1"),
        (frame(type="message", id="m1", text=["hi"]), "bad_frame", "m1"),
        (frame(type="message", id="m1", text="a" * (MAX_TEXT + 1)), "too_long", "m1"),
        # message intent
        (frame(type="message", id="m1", text="hi", intent=""), "bad_frame", "m1"),
        (frame(type="message", id="m1", text="hi", intent=3), "bad_frame", "m1"),
        (frame(type="message", id="m1", text="hi", intent=True), "bad_frame", "m1"),
        (frame(type="message", id="m1", text="hi", intent="i" * 65), "bad_frame", "m1"),
    ],
)
def test_malformed_frames_are_refused(raw: str | bytes, code: str, ref: str | None) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_frame(raw)

    assert info.value.code == code
    assert info.value.ref == ref
    assert str(info.value)  # says what to do


def test_too_long_says_the_limit() -> None:
    with pytest.raises(ProtocolError, match="2001 characters; the limit is 2000"):
        parse_client_frame(frame(type="message", id="m1", text="a" * 2001))


def test_error_frame() -> None:
    error = ProtocolError("too_long", "too long; shorten it", ref="m9")

    assert error_frame(error) == {"type": "error", "code": "too_long", "message": "too long; shorten it", "ref": "m9"}
    assert error_frame(ProtocolError("bad_json", "x"))["ref"] is None


# --- server frames ------------------------------------------------------------------------------


def event(kind: str, data: dict[str, Any], *, seq: int = 7, client_id: str | None = None) -> StoredEvent:
    return StoredEvent("c_1", seq, kind, data, 0.0, client_id)


def test_reply_frame() -> None:
    data = {
        "text": "It shipped.",
        "reply_to": "m1",
        "source": "template",
        "intent": "order_status",
        "confidence": 0.97,
        "rule": "confident_intent",
        "ranking": [],
    }

    assert event_frame(event(BOT_REPLY, data)) == {
        "type": "reply",
        "at": "1970-01-01T00:00:00+00:00",
        "id": "e7",
        "reply_to": "m1",
        "text": "It shipped.",
        "source": "template",
        "intent": "order_status",
        "confidence": 0.97,
        "buttons": [],
    }


def test_reply_buttons_reach_the_customer() -> None:
    buttons = [{"title": "When do I get my refund?", "intent": "refund_status"}]
    frame = event_frame(event(BOT_REPLY, {"text": "Returns are free.", "source": "template", "buttons": buttons}))

    assert frame is not None and frame["buttons"] == buttons


def test_greeting_reply_frame_has_null_fields() -> None:
    result = event_frame(event(BOT_REPLY, {"text": "Hi!", "source": "system"}, seq=1))

    assert result == {
        "type": "reply",
        "at": "1970-01-01T00:00:00+00:00",
        "id": "e1",
        "reply_to": None,
        "text": "Hi!",
        "source": "system",
        "intent": None,
        "confidence": None,
        "buttons": [],
    }


def test_clarify_frame() -> None:
    options = [{"intent": "a", "label": "A"}, {"intent": "b", "label": "B"}]

    result = event_frame(event(CLARIFY, {"text": "Which?", "reply_to": "m2", "options": options, "rule": "x"}))

    assert result == {"type": "clarify", "id": "e7", "at": "1970-01-01T00:00:00+00:00", "reply_to": "m2", "text": "Which?", "options": options}


def test_handoff_frame() -> None:
    result = event_frame(event(HANDOFF, {"text": "A person is coming.", "reply_to": "m3", "reason": "ambiguous"}))

    assert result == {
        "type": "handoff",
        "at": "1970-01-01T00:00:00+00:00",
        "id": "e7",
        "reply_to": "m3",
        "text": "A person is coming.",
        "reason": "ambiguous",
    }


def test_state_frame() -> None:
    result = event_frame(event(STATE_CHANGED, {"from": "BOT", "to": "WAITING_FOR_AGENT", "reason": "x"}))

    assert result == {"type": "state", "state": "WAITING_FOR_AGENT"}


def test_customer_messages_are_not_sent_back_as_frames() -> None:
    assert event_frame(event(CUSTOMER_MESSAGE, {"text": "hi"}, client_id="m1")) is None


def test_history_items() -> None:
    at = "1970-01-01T00:00:00+00:00"
    options = [{"intent": "a", "label": "A"}]

    assert history_item(event(CUSTOMER_MESSAGE, {"text": "hi"}, seq=1, client_id="m1")) == {
        "id": "m1",
        "role": "customer",
        "kind": "message",
        "text": "hi",
        "at": at,
    }
    assert history_item(event(BOT_REPLY, {"text": "hello", "source": "system"}, seq=2)) == {
        "id": "e2",
        "role": "bot",
        "kind": "reply",
        "text": "hello",
        "at": at,
        "source": "system",
        "buttons": [],
    }
    assert history_item(event(CLARIFY, {"text": "Which?", "options": options}, seq=3)) == {
        "id": "e3",
        "role": "bot",
        "kind": "clarify",
        "text": "Which?",
        "at": at,
        "options": options,
    }
    assert history_item(event(HANDOFF, {"text": "A person is coming.", "reason": "x"}, seq=4)) == {
        "id": "e4",
        "role": "system",
        "kind": "handoff",
        "text": "A person is coming.",
        "at": at,
    }
    assert history_item(event(STATE_CHANGED, {"to": "BOT"}, seq=5)) is None


def test_history_items_are_json_serialisable() -> None:
    item = history_item(event(CUSTOMER_MESSAGE, {"text": "grüße"}, client_id="m1"))

    assert json.loads(json.dumps(item)) == item


def test_iso_is_utc_seconds() -> None:
    assert iso(1_700_000_000.75) == "2023-11-14T22:13:20+00:00"


def test_customer_ids_cannot_use_the_agents_namespace() -> None:
    from bot.errors import ProtocolError
    from bot.web.protocol import parse_client_frame

    for frame in (
        '{"type": "message", "id": "agent:sam:r1", "text": "hi"}',
        '{"type": "contact", "id": "agent:x", "email": "a@example.com", "text": "hi"}',
    ):
        try:
            parse_client_frame(frame)
        except ProtocolError as exc:
            assert exc.code == "bad_frame" and "agent:" in str(exc)
        else:
            raise AssertionError("an id in the agents' namespace was accepted")


def test_contact_and_typing_frames_are_validated() -> None:
    from bot.errors import ProtocolError
    from bot.web.protocol import parse_client_frame

    assert parse_client_frame('{"type": "typing", "on": true}') == {"type": "typing", "on": True}
    contact = parse_client_frame('{"type": "contact", "id": "c1", "email": " kim@example.com ", "text": " call me "}')
    assert contact == {"type": "contact", "id": "c1", "email": "kim@example.com", "text": "call me"}
    for bad, code in (
        ('{"type": "typing", "on": "yes"}', "bad_frame"),
        ('{"type": "contact", "id": "c1", "email": "not an email", "text": "x"}', "bad_email"),
        ('{"type": "contact", "id": "c1", "email": "<script>@x.io", "text": "x"}', "bad_email"),
        ('{"type": "contact", "id": "c1", "email": "kim@example.com", "text": "  "}', "bad_frame"),
    ):
        try:
            parse_client_frame(bad)
        except ProtocolError as exc:
            assert exc.code == code, bad
        else:
            raise AssertionError(f"accepted {bad}")


# --- forms: what customers never get (the agent side is tests/bot/core/test_task_view.py) ------------


def test_form_and_slot_events_have_no_customer_frame_or_history_item() -> None:
    form = event("form", {"form": "order_lookup", "requested_slot": "order_id", "status": "asking", "failures": 0})
    slot = event("slot_set", {"slot": "order_id", "value": "PC-483920", "source": "form"})

    for stored in (form, slot):
        assert event_frame(stored) is None
        assert history_item(stored) is None


def test_a_form_question_reaches_the_customer_without_the_form_fields() -> None:
    buttons = [{"title": "Damaged item", "value": "damaged"}, {"title": "Something else"}]
    data = {
        "text": "What is it about?",
        "reply_to": "m4",
        "source": "template",
        "response": "ask_topic",
        "form": "ticket",
        "asks": "topic",
        "buttons": buttons,
    }

    sent = event_frame(event(BOT_REPLY, data))
    item = history_item(event(BOT_REPLY, data))

    assert sent is not None and item is not None
    assert sent["buttons"] == buttons and item["buttons"] == buttons
    assert not {"form", "asks", "response"} & (sent.keys() | item.keys())


def test_a_handoff_mid_form_shows_the_customer_no_collected_slots() -> None:
    data = {
        "text": "A person will help you.",
        "reply_to": "m5",
        "reason": "form_failed",
        "form": "order_lookup",
        "collected": {"email": "ana@example.com"},
    }

    sent = event_frame(event(HANDOFF, data))
    item = history_item(event(HANDOFF, data))

    assert sent == {
        "type": "handoff",
        "at": "1970-01-01T00:00:00+00:00",
        "id": "e7",
        "reply_to": "m5",
        "text": "A person will help you.",
        "reason": "form_failed",
    }
    assert item is not None and "ana@example.com" not in json.dumps(item) and "collected" not in item


# --- feedback: thumbs, survey, end chat ---------------------------------------------------------


def test_feedback_survey_and_end_frames() -> None:
    thumbs = parse_client_frame(frame(type="feedback", id="f1", reply="e7", value="down", comment="  wrong size  "))
    assert thumbs == {"type": "feedback", "id": "f1", "reply": "e7", "value": "down", "comment": "wrong size"}
    assert parse_client_frame(frame(type="feedback", id="f2", reply="e7", value="up"))["comment"] is None
    survey = parse_client_frame(frame(type="survey", id="s1", score=4, comment=""))
    assert survey == {"type": "survey", "id": "s1", "score": 4, "comment": None}
    assert parse_client_frame(frame(type="end", id="x1")) == {"type": "end", "id": "x1"}


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "feedback", "id": "f1", "reply": "e7", "value": "meh"},
        {"type": "feedback", "id": "f1", "value": "up"},
        {"type": "feedback", "id": "f1", "reply": "e7", "value": "up", "comment": "x" * 1001},
        {"type": "survey", "id": "s1", "score": 6},
        {"type": "survey", "id": "s1", "score": True},
        {"type": "survey", "id": "s1", "score": "5"},
    ],
)
def test_bad_feedback_is_refused_with_what_to_send(bad: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_client_frame(json.dumps(bad))
    assert refused.value.code == "bad_feedback" and refused.value.ref == bad["id"]


def test_history_marks_rated_answers_and_who_ended_the_chat() -> None:
    from bot.core.events import CLOSED, FEEDBACK
    from bot.web.protocol import history

    events = [
        event(BOT_REPLY, {"text": "Returns are free.", "source": "template"}, seq=1),
        event(FEEDBACK, {"reply": "e1", "value": "down", "comment": None}, seq=2, client_id="f1"),
        event(CLOSED, {"by": "customer"}, seq=3),
    ]
    items = history(events)

    assert [item["kind"] for item in items] == ["reply", "closed"]  # the rating itself is not shown
    assert items[0]["rated"] == "down" and items[1]["by"] == "customer"
