"""Live KB reload: build the new version beside the old one, check it, swap it in one step.

``KBReloader.reload`` validates the KB folder, builds it (the classifier is reused when the
intents did not change, see ``kb.build``), loads the build, runs a smoke check, and only then
hands it to :meth:`ChatService.swap_brain`. Until that single assignment the old version serves
every message; a message already in flight finishes on the version it started with. A KB that
does not validate is rejected with every file, line and fix, and nothing changes. Every attempt,
and every rollback to an earlier build, is recorded in the store (who, when, build, outcome).

One reload runs at a time; a second request while one runs is refused with ``ReloadBusyError``.
The build runs in a worker thread, so customers keep being answered (more slowly on a small
machine while a classifier trains).

Several replicas share the builds folder. The replica that reloads announces the build it now
serves on the bus (topic :data:`SYSTEM_TOPIC`); every other replica, in :meth:`KBReloader.follow`,
loads that build from the folder, checks it the same way and swaps it in. When the bus comes back
after an outage (a ``resync`` signal) each replica serves the build the folder marks active.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.bus.base import Signal
from bot.core.policy import PolicyConfig, TurnContext
from bot.errors import DeskmateError, KBIssue, KBValidationError, ReloadBusyError
from bot.service.brain import Brain
from bot.service.chat import ChatService
from bot.storage.reloads import ReloadAction, ReloadOutcome, ReloadRecord
from kb.build import BuildInfo, build_kb, find_build, list_builds
from kb.loader import load_kb
from kb.versions import ActiveBuild, read_active, write_active
from retrieval.embedder import Embedder
from training.config import TrainingConfig

logger = logging.getLogger(__name__)

SMOKE_PER_INTENT = 2  # training examples per intent sent through the new build before it serves
SMOKE_FLOOR = 0.8  # share of them that must come back as their own intent
SYSTEM_TOPIC = "system"  # bus topic of replica-wide notices: "build_activated"


@dataclass(frozen=True)
class ReloadResult:
    record: ReloadRecord
    issues: tuple[KBIssue, ...] = field(default=())  # why a KB was rejected


@dataclass(frozen=True)
class Version:
    build: BuildInfo
    active: bool


class KBReloader:
    def __init__(
        self,
        service: ChatService,
        *,
        kb_path: Path,
        builds_dir: Path,
        embedder: Embedder,
        policy_config: PolicyConfig | None = None,
        training: TrainingConfig | None = None,
        int8: bool = False,
    ) -> None:
        self.service = service
        self.kb_path = kb_path
        self.builds_dir = builds_dir
        self.embedder = embedder
        self.policy_config = policy_config
        self.training = training
        self.int8 = int8
        self._lock = asyncio.Lock()

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def versions(self) -> list[Version]:
        """Every complete build, newest first, the served one marked."""
        serving = self.service.brain.build_id
        return [Version(b, b.id == serving) for b in reversed(list_builds(self.builds_dir))]

    async def reload(self, *, actor: str) -> ReloadResult:
        """Build the KB folder again and serve it if it passes the checks."""
        async with self._exclusive():
            started = time.monotonic()
            try:
                kb = await asyncio.to_thread(load_kb, self.kb_path)
            except KBValidationError as exc:
                detail = "; ".join(str(issue) for issue in exc.issues)
                record = self._record(actor, ReloadAction.RELOAD, ReloadOutcome.REJECTED, None, None, detail, started)
                logger.warning("KB reload rejected: %d issue(s) in %s", len(exc.issues), self.kb_path)
                await self.service.store.record_reload(record)
                return ReloadResult(record, tuple(exc.issues))
            try:
                info = await asyncio.to_thread(
                    build_kb,
                    self.kb_path,
                    self.builds_dir,
                    embedder=self.embedder,
                    config=self.training,
                    progress=False,
                )
            except Exception as exc:  # training or disk trouble: the old version keeps serving
                logger.exception("KB build failed")
                detail = str(exc) if isinstance(exc, DeskmateError) else f"build failed: {exc}"
                record = self._record(
                    actor, ReloadAction.RELOAD, ReloadOutcome.FAILED, None, kb.content_hash(), detail, started
                )
                await self.service.store.record_reload(record)
                return ReloadResult(record)
            return await self._swap(info, actor, ReloadAction.RELOAD, kb.content_hash(), started)

    async def rollback(self, build_id: str, *, actor: str) -> ReloadResult:
        """Serve the earlier build ``build_id`` again (it is checked like a new one)."""
        async with self._exclusive():
            started = time.monotonic()
            info = find_build(self.builds_dir, build_id)
            if info is None:
                known = ", ".join(b.id for b in list_builds(self.builds_dir)) or "none"
                detail = f"no build {build_id!r} in {self.builds_dir}; known builds: {known}"
                record = self._record(
                    actor, ReloadAction.ROLLBACK, ReloadOutcome.FAILED, build_id, None, detail, started
                )
                await self.service.store.record_reload(record)
                return ReloadResult(record)
            source_hash = await asyncio.to_thread(_folder_hash, self.kb_path)
            return await self._swap(info, actor, ReloadAction.ROLLBACK, source_hash, started)

    async def _swap(
        self, info: BuildInfo, actor: str, action: ReloadAction, source_hash: str | None, started: float
    ) -> ReloadResult:
        try:
            brain = await asyncio.to_thread(
                Brain.load, info, self.embedder, policy_config=self.policy_config, int8=self.int8
            )
            await asyncio.to_thread(smoke_check, brain)
        except Exception as exc:  # a build that does not load or answer never serves
            logger.error("build %s failed its checks: %s", info.id, exc)
            record = self._record(
                actor, action, ReloadOutcome.FAILED, info.id, info.content_hash, f"check failed: {exc}", started
            )
            await self.service.store.record_reload(record)
            return ReloadResult(record)
        old = self.service.swap_brain(brain)
        detail = f"was {old.build_id}"
        record = self._record(actor, action, ReloadOutcome.SERVING, info.id, info.content_hash, detail, started)
        try:  # the new version serves already: bookkeeping trouble is logged, not reported as a failure
            if source_hash is not None:
                await asyncio.to_thread(write_active, self.builds_dir, ActiveBuild(info.id, source_hash))
            await self.service.store.record_reload(record)
        except Exception:
            logger.exception("serving %s, but recording it failed", info.id)
        logger.info("KB %s by %s: serving %s (%s)", action.value, actor, info.id, detail)
        try:
            await self.service.bus.signal(SYSTEM_TOPIC, Signal("build_activated", {"build": info.id}))
        except Exception:  # the other replicas catch up when the bus returns (resync)
            logger.exception("serving %s, but telling the other replicas failed", info.id)
        return ReloadResult(record)

    async def follow(self) -> None:
        """Serve what other replicas activate, until cancelled (run as a task beside the server)."""
        subscription = self.service.bus.subscribe(SYSTEM_TOPIC)
        try:
            while True:
                item = await subscription.get()
                if not isinstance(item, Signal) or item.kind not in ("build_activated", "resync"):
                    continue
                # the folder's ACTIVE marker decides, not the announcement: two reloads racing on two
                # replicas would otherwise each adopt the other's build
                try:
                    active = await asyncio.to_thread(read_active, self.builds_dir)
                    announced = item.data.get("build")
                    if active is not None:
                        await self._adopt(active.build_id)
                    elif isinstance(announced, str) and announced and "/" not in announced and ".." not in announced:
                        await self._adopt(announced)
                except Exception:  # a damaged build must not stop this replica from following the next
                    logger.exception("could not follow the build another replica activated")
        finally:
            subscription.close()

    async def _adopt(self, build_id: str) -> None:
        """Serve ``build_id`` from the shared builds folder, after the same checks as a reload."""
        async with self._lock:  # after a reload of our own finishes
            if self.service.brain.build_id == build_id:
                return  # ours, or already adopted
            info = await asyncio.to_thread(find_build, self.builds_dir, build_id)
            if info is None:
                logger.error(
                    "another replica serves build %s, but it is not in %s: share the builds folder between "
                    "replicas (DESKMATE_BUILDS_DIR)",
                    build_id,
                    self.builds_dir,
                )
                return
            try:
                brain = await asyncio.to_thread(
                    Brain.load, info, self.embedder, policy_config=self.policy_config, int8=self.int8
                )
                await asyncio.to_thread(smoke_check, brain)
            except Exception as exc:
                logger.error("build %s, activated by another replica, failed its checks here: %s", build_id, exc)
                return
            old = self.service.swap_brain(brain)
            logger.info("KB: serving %s as another replica does (was %s)", build_id, old.build_id)

    def _exclusive(self) -> asyncio.Lock:
        if self._lock.locked():
            raise ReloadBusyError("a reload or rollback is already running; wait for it to finish and try again")
        return self._lock

    @staticmethod
    def _record(
        actor: str,
        action: ReloadAction,
        outcome: ReloadOutcome,
        build_id: str | None,
        content_hash: str | None,
        detail: str,
        started: float,
    ) -> ReloadRecord:
        return ReloadRecord(
            at=time.time(),
            actor=actor,
            action=action,
            outcome=outcome,
            build_id=build_id,
            content_hash=content_hash,
            detail=detail,
            seconds=round(time.monotonic() - started, 3),
        )


def smoke_check(brain: Brain, *, per_intent: int = SMOKE_PER_INTENT, floor: float = SMOKE_FLOOR) -> None:
    """Send a few of each intent's own examples through ``brain``; raise if it cannot answer them."""
    texts: list[str] = []
    gold: list[str] = []
    for intent in brain.kb.intents:
        for example in intent.examples[:per_intent]:
            texts.append(example)
            gold.append(intent.name)
    understandings = brain.understand(texts)
    if len(understandings) != len(texts):
        raise RuntimeError(f"the build answered {len(understandings)} of {len(texts)} smoke messages")
    hits = 0
    for text, expected, understanding in zip(texts, gold, understandings, strict=True):
        decision = brain.policy.decide(text, understanding, TurnContext())
        brain.composer.compose(decision, turn=0)
        hits += understanding.prediction.top.intent == expected
    if hits < floor * len(texts):
        raise RuntimeError(
            f"only {hits} of {len(texts)} of the KB's own examples were recognised; "
            "check the intents for overlapping examples and rebuild"
        )


def _folder_hash(path: Path) -> str | None:
    try:
        return load_kb(path).content_hash()
    except KBValidationError:
        return None  # a broken folder: keep no pointer, the next start reports the issues


def issue_dicts(issues: Sequence[KBIssue]) -> list[dict[str, object]]:
    return [{"file": i.file, "line": i.line, "message": i.message} for i in issues]
