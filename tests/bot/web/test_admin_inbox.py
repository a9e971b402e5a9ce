"""The admin websocket's inbox frames: checked like the other frames, answered from the KB inbox."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from bot.errors import ProtocolError
from bot.ops.config import DEMO_KB
from bot.service.candidates import CandidateReview
from bot.service.kb_inbox import KBInbox
from bot.storage.candidates import InMemoryCandidateStore
from bot.storage.reloads import ReloadOutcome
from bot.storage.store import InMemoryStore
from bot.web.admin_inbox import InboxFrames, parse_inbox_request
from tests.bot.service.test_kb_inbox import CRYPTO, StubReloader, failed
from tests.bot.service.test_misunderstood import KeywordEmbedder

NOW = 1_750_000_000.0


@pytest.fixture
async def frames(tmp_path: Path) -> tuple[InboxFrames, list[dict[str, str]], StubReloader]:
    kb = tmp_path / "kb"
    shutil.copytree(DEMO_KB, kb)
    store = InMemoryStore()
    refs = [(await failed(store, text)).to_dict() for text in CRYPTO]
    reloader = StubReloader()
    review = CandidateReview(InMemoryCandidateStore(), kb)
    inbox = KBInbox(store, kb, embedder=KeywordEmbedder, reloader=reloader, review=review)  # type: ignore[arg-type]
    return InboxFrames(inbox), refs, reloader


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ({"type": "fix", "action": "dismiss", "messages": []}, 'needs an "id"'),
        ({"type": "fix", "id": "f1", "action": "delete", "messages": []}, '"action" must be one of'),
        ({"type": "fix", "id": "f1", "action": "dismiss", "messages": []}, '"messages" must be a list of 1 to 500'),
        (
            {"type": "fix", "id": "f1", "action": "dismiss", "messages": [{"conversation": "c", "event": "m1"}]},
            "e<number>",
        ),
        (
            {"type": "fix", "id": "f1", "action": "add_to_intent", "messages": [{"conversation": "c", "event": "e1"}]},
            '"intent"',
        ),
        (
            {
                "type": "fix",
                "id": "f1",
                "action": "new_intent",
                "intent": "x",
                "messages": [{"conversation": "c", "event": "e1"}],
            },
            '"response"',
        ),
        ({"type": "inbox", "since": "last week"}, "ISO 8601"),
        ({"type": "inbox", "since": "2025-02-01", "until": "2025-01-01"}, '"until" must come after'),
        ({"type": "apply"}, 'needs an "id"'),
    ],
)
def test_malformed_frames_are_refused_with_what_to_send(frame: dict[str, Any], message: str) -> None:
    with pytest.raises(ProtocolError, match=message) as refused:
        parse_inbox_request(frame)
    assert refused.value.code == "bad_frame"


def test_times_are_read_as_utc_unless_they_say_otherwise() -> None:
    assert parse_inbox_request({"type": "inbox", "since": "2025-01-01"}).since == 1_735_689_600.0
    assert parse_inbox_request({"type": "inbox", "since": "2025-01-01T01:00:00+01:00"}).since == 1_735_689_600.0
    assert parse_inbox_request({"type": "inbox"}).id is None


async def test_inbox_fix_and_apply_frames(frames: tuple[InboxFrames, list[dict[str, str]], StubReloader]) -> None:
    handler, refs, _ = frames

    listed = await handler.handle({"type": "inbox", "id": "i1"}, actor="admin:maria")
    fixed = await handler.handle(
        {
            "type": "fix",
            "id": "f1",
            "action": "new_intent",
            "intent": "crypto",
            "response": "Not yet.",
            "messages": refs,
        },
        actor="admin:maria",
    )
    applied = await handler.handle({"type": "apply", "id": "a1"}, actor="admin:omar")
    after = await handler.handle({"type": "inbox", "since": "2000-01-01T00:00:00Z"}, actor="admin:maria")

    assert set(listed) == {"type", "id", "since", "until", "groups", "candidates", "changes"}
    assert (listed["type"], listed["id"], listed["until"], listed["candidates"]) == ("inbox", "i1", None, [])
    [group] = listed["groups"]
    assert group["size"] == 5 and group["messages"][0]["conversation"] == refs[0]["conversation"]
    assert (fixed["type"], fixed["id"]) == ("fixed", "f1")
    change = fixed["change"]
    assert (change["action"], change["status"], change["admin"], change["intent"]) == (
        "new_intent",
        "pending",
        "admin:maria",
        "crypto",
    )
    assert change["messages"] == refs and change["added"] == CRYPTO
    assert (applied["type"], applied["id"], applied["applied"]) == ("reload_done", "a1", [change["id"]])
    assert applied["record"]["outcome"] == ReloadOutcome.SERVING.value and applied["issues"] == []
    assert after["since"] == "2000-01-01T00:00:00+00:00" and after["groups"] == []
    assert after["changes"][0]["status"] == "applied" and after["changes"][0]["build"] == "pinecone-new"


async def test_a_change_the_kb_refuses_comes_back_with_file_and_line(
    frames: tuple[InboxFrames, list[dict[str, str]], StubReloader],
) -> None:
    handler, refs, _ = frames

    refused = await handler.handle(
        {
            "type": "fix",
            "id": "f2",
            "action": "new_intent",
            "intent": "crypto",
            "response": "No.",
            "messages": refs[:2],
        },
        actor="admin",
    )
    unknown = await handler.handle(
        {"type": "fix", "id": "f3", "action": "dismiss", "messages": [{"conversation": "c_gone", "event": "e1"}]},
        actor="admin",
    )
    malformed = await handler.handle({"type": "fix", "id": "f4", "action": "dismiss"}, actor="admin")

    assert (refused["type"], refused["code"], refused["ref"]) == ("error", "kb_invalid", "f2")
    [issue] = refused["issues"]
    assert issue["file"] == "intents.yml" and isinstance(issue["line"], int) and "add at least 5" in issue["message"]
    assert f"intents.yml:{issue['line']}: intent `crypto` has 2 examples" in refused["message"]
    assert (unknown["code"], unknown["ref"]) == ("unknown_message", "f3")
    assert (malformed["code"], malformed["ref"]) == ("bad_frame", "f4")
