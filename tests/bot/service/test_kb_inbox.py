"""The admin's KB inbox: groups and candidates listed; fixes written, recorded as the admin's, applied by a reload."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from bot.bus.inprocess import InProcessBus
from bot.core.events import AGENT_MESSAGE, BOT_REPLY, CUSTOMER_MESSAGE, HANDOFF, NewEvent
from bot.errors import KBValidationError, ProtocolError
from bot.ops.config import DEMO_KB
from bot.service.brain import Brain
from bot.service.candidates import CandidateReview
from bot.service.chat import ChatService
from bot.service.kb_inbox import CHANGES, ChangeStatus, FixAction, KBInbox
from bot.service.misunderstood import MessageRef
from bot.service.reloader import KBReloader, ReloadResult
from bot.storage.candidates import InMemoryCandidateStore
from bot.storage.reloads import ReloadAction, ReloadOutcome, ReloadRecord
from bot.storage.store import InMemoryStore
from kb.loader import load_kb
from tests.bot.service.test_misunderstood import KeywordEmbedder

PERSONAL = "I'm Jane Doe, jane.doe@example.com: can I buy a gift card for my mum?"
GIFTS = [PERSONAL, "do you sell a gift voucher", "gift card please"]
CRYPTO = [
    "can I pay with bitcoin",
    "do you take crypto",
    "bitcoin accepted?",
    "crypto payment possible?",
    "pay in bitcoin",
]
TENT = "my tent pole snapped"


class StubReloader:
    """Stands in for KBReloader.reload: the outcome is set by the test; no build is made."""

    def __init__(self) -> None:
        self.outcome = ReloadOutcome.SERVING
        self.actors: list[str] = []

    async def reload(self, *, actor: str) -> ReloadResult:
        self.actors.append(actor)
        build = "pinecone-new" if self.outcome is ReloadOutcome.SERVING else None
        return ReloadResult(ReloadRecord(time.time(), actor, ReloadAction.RELOAD, self.outcome, build, None))


async def failed(store: InMemoryStore, text: str, *, handoff: str | None = None) -> MessageRef:
    """A conversation where the bot failed on ``text`` (asked to rephrase, or handed off)."""
    conversation = await store.create_conversation(f"token-{text}")
    [message] = await store.append(conversation, [NewEvent(CUSTOMER_MESSAGE, {"text": text}, client_id="m1")])
    if handoff is None:
        answer = NewEvent(BOT_REPLY, {"text": "Sorry?", "source": "fallback", "reply_to": "m1"})
    else:
        answer = NewEvent(HANDOFF, {"text": "Passing you on", "reason": handoff, "reply_to": "m1"})
    await store.append(conversation, [answer])
    return MessageRef(conversation, f"e{message.seq}")


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(DEMO_KB, root)
    return root


@pytest.fixture
async def setup(kb: Path) -> dict[str, Any]:
    store = InMemoryStore()
    refs = {text: await failed(store, text) for text in [*GIFTS, *CRYPTO]}
    refs[TENT] = await failed(store, TENT, handoff="low_confidence")
    review = CandidateReview(InMemoryCandidateStore(), kb)
    reloader = StubReloader()
    inbox = KBInbox(store, kb, embedder=KeywordEmbedder, reloader=reloader, review=review)  # type: ignore[arg-type]
    return {"store": store, "refs": refs, "review": review, "reloader": reloader, "inbox": inbox}


async def test_the_inbox_lists_the_groups_and_the_candidates_awaiting_approval(setup: dict[str, Any]) -> None:
    candidate = await setup["review"].record(
        conversation_id="c_x", question="Do you ship to Norway?", answer="Yes, in 5 days.", agent="sam"
    )

    inbox = await setup["inbox"].inbox()

    assert [(g.size, sorted(m.text for m in g.messages)) for g in inbox.groups] == [
        (5, sorted(CRYPTO)),
        (3, sorted(GIFTS)),
        (1, [TENT]),
    ]
    assert inbox.groups[2].reasons == {"low_confidence": 1}
    assert PERSONAL in inbox.groups[1].examples  # the admin reads messages as they were stored
    assert [c.id for c in inbox.candidates] == [candidate.id]
    assert inbox.changes == []


async def test_adding_to_an_intent_writes_deidentified_examples_recorded_as_the_admins(
    setup: dict[str, Any], kb: Path
) -> None:
    inbox, refs = setup["inbox"], setup["refs"]

    change = await inbox.add_to_intent([refs[t] for t in GIFTS], "gift_card", admin="admin:maria")

    assert (change.action, change.admin, change.intent, change.status) == (
        FixAction.ADD_TO_INTENT,
        "admin:maria",
        "gift_card",
        ChangeStatus.PENDING,
    )
    assert change.messages == tuple(refs[t] for t in GIFTS)
    assert change.texts[0] == "I'm {name}, {email}: can I buy a gift card for my mum?"
    assert change.edit is not None and change.edit.added == change.texts
    assert "I'm {name}, {email}: can I buy a gift card for my mum?" in load_kb(kb).intent("gift_card").examples
    for written in ("intents.yml", CHANGES):
        text = (kb / written).read_text(encoding="utf-8")
        assert "jane.doe@example.com" not in text and "Jane Doe" not in text
    after = await inbox.inbox()
    assert [g.size for g in after.groups] == [5, 1]  # fixed messages leave the groups
    assert [c.id for c in after.changes] == [change.id]
    assert after.changes[0].to_dict()["status"] == "pending"


async def test_a_new_intent_and_out_of_scope_are_written_and_listed_newest_first(
    setup: dict[str, Any], kb: Path
) -> None:
    inbox, refs = setup["inbox"], setup["refs"]

    created = await inbox.new_intent(
        "crypto_payments", "We don't take crypto yet.", [refs[t] for t in CRYPTO], admin="admin", label="Crypto"
    )
    scoped = await inbox.out_of_scope([refs[TENT]], admin="admin:maria")

    loaded = load_kb(kb)
    assert loaded.intent("crypto_payments").examples == tuple(CRYPTO)
    assert loaded.responses["crypto_payments"] == ("We don't take crypto yet.",)
    assert TENT in loaded.out_of_scope
    assert (created.response, scoped.action) == ("We don't take crypto yet.", FixAction.OUT_OF_SCOPE)
    assert [c.id for c in await inbox.changes()] == [scoped.id, created.id]


async def test_dismissed_messages_stay_out_of_the_groups_and_the_kb_is_untouched(
    setup: dict[str, Any], kb: Path
) -> None:
    inbox, refs = setup["inbox"], setup["refs"]
    before = (kb / "intents.yml").read_bytes()

    change = await inbox.dismiss([refs[TENT], refs[TENT]], admin="admin:maria")

    assert (change.status, change.messages, change.texts, change.edit) == (
        ChangeStatus.DISMISSED,
        (refs[TENT],),
        (),
        None,
    )
    assert (kb / "intents.yml").read_bytes() == before
    assert TENT not in (kb / CHANGES).read_text(encoding="utf-8")  # a dismissal keeps no text
    assert [g.size for g in (await inbox.inbox()).groups] == [5, 3]


async def test_a_refused_change_is_not_recorded(setup: dict[str, Any], kb: Path) -> None:
    inbox, refs = setup["inbox"], setup["refs"]

    with pytest.raises(KBValidationError) as refused:
        await inbox.new_intent("crypto_payments", "Not yet.", [refs[t] for t in CRYPTO[:2]], admin="admin")

    assert refused.value.issues[0].file == "intents.yml" and refused.value.issues[0].line is not None
    assert not (kb / CHANGES).exists()


async def test_only_customer_messages_can_be_named(setup: dict[str, Any]) -> None:
    store, inbox = setup["store"], setup["inbox"]
    conversation = setup["refs"][TENT].conversation
    [agent] = await store.append(conversation, [NewEvent(AGENT_MESSAGE, {"text": "Hello", "agent": "sam"})])

    for ref in (MessageRef(conversation, f"e{agent.seq}"), MessageRef("c_nope", "e1")):
        with pytest.raises(ProtocolError) as refused:
            await inbox.dismiss([ref], admin="admin")
        assert refused.value.code == "unknown_message"
    with pytest.raises(ProtocolError):
        await inbox.dismiss([], admin="admin")


async def test_changes_are_pending_until_a_reload_serves_them(setup: dict[str, Any]) -> None:
    inbox, refs, reloader = setup["inbox"], setup["refs"], setup["reloader"]
    added = await inbox.add_to_intent([refs[GIFTS[1]]], "gift_card", admin="admin:maria")
    dismissed = await inbox.dismiss([refs[TENT]], admin="admin:maria")

    reloader.outcome = ReloadOutcome.REJECTED
    rejected = await inbox.apply("admin:omar")
    still = {c.id: c.status for c in await inbox.changes()}
    reloader.outcome = ReloadOutcome.SERVING
    served = await inbox.apply("admin:omar")

    assert rejected.applied == () and still == {added.id: ChangeStatus.PENDING, dismissed.id: ChangeStatus.DISMISSED}
    assert served.applied == (added.id,) and served.result.record.outcome is ReloadOutcome.SERVING
    assert reloader.actors == ["admin:omar", "admin:omar"]
    now = {c.id: c for c in await inbox.changes()}
    assert now[added.id].status is ChangeStatus.APPLIED
    assert (now[added.id].build, now[added.id].applied_by) == ("pinecone-new", "admin:omar")
    assert now[added.id].admin == "admin:maria"  # still the admin who made it
    assert now[dismissed.id].status is ChangeStatus.DISMISSED
    assert (await inbox.apply("admin:omar")).applied == ()  # nothing pending any more
    lines = [json.loads(line) for line in (setup["inbox"].kb_root / CHANGES).read_text(encoding="utf-8").splitlines()]
    assert lines[-1] == {"applied": [added.id], "build": "pinecone-new", "by": "admin:omar", "at": lines[-1]["at"]}


async def test_apply_and_reload_serves_the_fix_with_a_real_reloader(
    kb: Path, tmp_path: Path, demo_brain: Brain, demo_build: Any, embedder: Any
) -> None:
    """Out-of-scope messages do not change the intents: the demo's trained classifier is reused."""
    builds = tmp_path / "builds"
    builds.mkdir()
    (builds / demo_build.id).symlink_to(demo_build.path, target_is_directory=True)
    service = ChatService(store=InMemoryStore(), bus=InProcessBus(), brain=demo_brain)
    reloader = KBReloader(service, kb_path=kb, builds_dir=builds, embedder=embedder)
    inbox = KBInbox.for_reloader(reloader)
    ref = await failed(service.store, "which mountain is the highest in Wales")  # type: ignore[arg-type]

    [group] = (await inbox.inbox()).groups
    change = await inbox.out_of_scope(group.refs, admin="admin:maria")
    applied = await inbox.apply("admin:maria")

    record = applied.result.record
    assert record.outcome is ReloadOutcome.SERVING and record.build_id != demo_build.id
    assert applied.applied == (change.id,) and group.refs == (ref,)
    assert service.brain.build_id == record.build_id
    assert "which mountain is the highest in Wales" in service.brain.kb.out_of_scope
    [now] = await inbox.changes()
    assert (now.status, now.build) == (ChangeStatus.APPLIED, record.build_id)
    assert (await inbox.inbox()).groups == []
