"""Learning from agents: candidate KB entries that an admin approves or discards.

When an agent answers a customer in a handed-off conversation, the customer's question and the
agent's answer are recorded as a *pending* :class:`Candidate`, de-identified first with the KB's
:class:`~retrieval.privacy.masking.Deidentifier` (personal values become ``{kind}`` placeholders), so
personal data enters neither the store nor the KB. An admin then approves it (editing the answer
if needed) or discards it. Approving appends the pair to the
KB folder's ``approved.jsonl`` (kb/approved.py); it becomes a retrieval pair at the next KB reload.

:class:`CandidateReview` (here) de-identifies what is recorded and carries out decisions;
approving also writes approved.jsonl. The candidates themselves and their store seam, with its
in-memory, SQLite and PostgreSQL versions, are storage's (bot/storage/candidates.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.core.events import AGENT_MESSAGE, BOT_REPLY, CLARIFY, CUSTOMER_MESSAGE, HANDOFF, StoredEvent
from bot.storage.candidates import Candidate, CandidateStatus, CandidateStore, apply_decision, unknown
from kb.approved import append_approved
from kb.masking import load_deidentifier
from kb.model import ApprovedPair
from retrieval.privacy.masking import Deidentifier

logger = logging.getLogger(__name__)

_REPLIES = (BOT_REPLY, CLARIFY, HANDOFF, AGENT_MESSAGE)  # what answers the customer messages before it


def open_question(events: Sequence[StoredEvent]) -> str | None:
    """The customer messages not answered yet (after the last bot or agent reply), one per line.

    Call it with a conversation's events before an agent's reply to get that reply's question;
    None when the customer has said nothing since the last reply.
    """
    texts: list[str] = []
    for event in events:
        if event.kind in _REPLIES:
            texts = []
        elif event.kind == CUSTOMER_MESSAGE:
            text = event.data.get("text")
            if isinstance(text, str) and text.strip():
                texts.append(text.strip())
    return "\n".join(texts) or None


class CandidateReview:
    """Records de-identified candidates and carries out the admin's decisions on them.

    ``kb_root`` is the KB source folder (the one reloads build from, not a build's copy): approved
    pairs are appended to its approved.jsonl. ``deidentifier`` defaults to the KB's
    (:func:`~kb.masking.load_deidentifier`). ``current``, when given, returns the de-identifier of
    the build being served, so candidates follow the KB's masking settings across reloads.
    """

    def __init__(
        self,
        store: CandidateStore,
        kb_root: str | Path,
        *,
        deidentifier: Deidentifier | None = None,
        current: Callable[[], Deidentifier | None] | None = None,
    ) -> None:
        self.store = store
        self.kb_root = Path(kb_root)
        self._deidentifier = deidentifier
        self._current = current
        self._lock = asyncio.Lock()  # one decision at a time: approved.jsonl is rewritten whole

    async def record(self, *, conversation_id: str, question: str, answer: str, agent: str) -> Candidate | None:
        """Store the de-identified pair as a pending candidate; None (nothing stored) when a text is empty.

        The two are de-identified together: a name the customer gave is masked in the answer too.
        """
        question, answer = self._deidentify(question, answer)
        if not question or not answer:
            return None
        candidate = await self.store.add(conversation_id=conversation_id, question=question, answer=answer, agent=agent)
        logger.info("candidate %s recorded from conversation %s (agent %s)", candidate.id, conversation_id, agent)
        return candidate

    async def approve(self, candidate_id: str, *, by: str, answer: str | None = None) -> Candidate:
        """Approve a candidate, with ``answer`` (de-identified) replacing the agent's if given, and add it to approved.jsonl.

        Approving again is harmless: the pair is written once. Raises :class:`CandidateError` when
        the candidate is unknown or was discarded, and
        :class:`~bot.errors.KBValidationError` when approved.jsonl has problems to fix first.
        """
        edited = None if answer is None else self._deidentify(answer)[0]
        async with self._lock:
            current = await self.store.get(candidate_id)
            if current is None:
                raise unknown(candidate_id)
            decided = apply_decision(current, CandidateStatus.APPROVED, by, answer=edited, at=time.time())
            pair = ApprovedPair(
                id=decided.id,
                question=decided.question,
                answer=decided.answer,
                agent=decided.agent,
                approved_at=decided.decided_at,
                conversation_id=decided.conversation_id,
            )
            # the file first: if the store fails afterwards, approving again finds the pair written
            written = await asyncio.to_thread(append_approved, self.kb_root, pair)
            stored = await self.store.decide(candidate_id, CandidateStatus.APPROVED, by, answer=edited)
        logger.info(
            "candidate %s approved by %s (%s)",
            candidate_id,
            by,
            "added to approved.jsonl" if written else "already there",
        )
        return stored

    async def discard(self, candidate_id: str, *, by: str) -> Candidate:
        """Discard a candidate; discarding again is harmless, discarding an approved one raises :class:`CandidateError`."""
        async with self._lock:
            stored = await self.store.decide(candidate_id, CandidateStatus.DISCARDED, by)
        logger.info("candidate %s discarded by %s", candidate_id, by)
        return stored

    @property
    def deidentifier(self) -> Deidentifier:
        served = self._current() if self._current is not None else None
        if served is not None:
            return served
        if self._deidentifier is None:
            self._deidentifier = load_deidentifier(self.kb_root)
        return self._deidentifier

    def _deidentify(self, *texts: str) -> list[str]:
        return [result.text.strip() for result in self.deidentifier.deidentify_all([t.strip() for t in texts])]
