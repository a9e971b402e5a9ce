"""The chat service: conversations, the store, the bus and the loaded KB build, without a transport.

Adapters (the websocket server, tests) call it; it never touches a socket. Per conversation,
messages are handled one at a time: the customer message is stored (and so acknowledged) first,
then the models run off the event loop, then the bot's events are stored and published.

Several replicas may share one store. Each keeps conversations it has seen in a cache, and every
append says which event it believes is the last (``after=``); when another replica got there
first the store refuses (:class:`ConflictError`), and the service replays the conversation from
the store and tries again. So of two agents claiming on two replicas, one wins and the other is
told the conversation is taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from bot.actions import ActionRunner
from bot.bus.base import Bus
from bot.core.assist import suggest
from bot.core.conversation import Conversation, State
from bot.core.events import CUSTOMER_MESSAGE, SUGGESTIONS, NewEvent, StoredEvent
from bot.core.policy import Action, Decision, Understanding
from bot.errors import ConflictError, ConversationError, ProtocolError, StoreError
from bot.generation import Generator
from bot.ops.logcontext import conversation_context
from bot.service.action_turn import action_for, finish_form_turn, run_action
from bot.service.batcher import MicroBatcher
from bot.service.brain import Brain
from bot.service.generated_turn import generated_turn
from bot.service.session_tokens import SESSION_UNKNOWN, SessionSigner
from bot.storage.store import Store

logger = logging.getLogger(__name__)

T = TypeVar("T")

CONFLICT_RETRIES = 5  # replays after another replica wrote first, before giving up with the ConflictError


Work = tuple[Brain, str, tuple[str, ...], str | None]  # brain, message, earlier turns, language


def _understand(items: list[Work]) -> list[Understanding]:
    """One forward pass per brain in the batch (two only while a reload swaps builds)."""
    results: list[Understanding | None] = [None] * len(items)
    groups: dict[int, list[int]] = {}
    for position, (brain, _, _, _) in enumerate(items):
        groups.setdefault(id(brain), []).append(position)
    for positions in groups.values():
        brain = items[positions[0]][0]
        texts = [items[p][1] for p in positions]
        contexts = [items[p][2] for p in positions]
        languages = [items[p][3] for p in positions]
        for position, understanding in zip(positions, brain.understand(texts, contexts, languages), strict=True):
            results[position] = understanding
    return [r for r in results if r is not None]


AGENT_STATES = (State.WAITING_FOR_AGENT, State.WITH_AGENT)


def assist_event(
    understanding: Understanding,
    brain: Brain,
    client_id: str,
    slots: dict[str, str] | None = None,
    language: str | None = None,
) -> NewEvent:
    """The suggestions for an agent, with what the models made of the customer's message; templates
    in the customer's ``language`` when the KB has texts in it (what the bot itself would send)."""
    ranking = [{"intent": s.intent, "p": round(s.probability, 4)} for s in understanding.prediction.ranking[:3]]
    kb = brain.composer_for(language).kb
    items = [suggestion.to_dict() for suggestion in suggest(understanding, kb, slots=slots)]
    top = understanding.prediction.top
    return NewEvent(
        SUGGESTIONS,
        {
            "reply_to": client_id,
            "intent": top.intent,
            "confidence": round(top.probability, 4),
            "ranking": ranking,
            "items": items,
        },
    )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Received:
    """A customer message just stored, with what the bot's answer to it will need."""

    brain: Brain
    conversation: Conversation
    context: tuple[str, ...]
    entities: list[tuple[str, str]]
    events: list[StoredEvent]


@dataclass(frozen=True)
class Session:
    """An opened conversation; the adapter reads its history from the store after subscribing."""

    token: str
    conversation_id: str
    state: str


class ChatService:
    def __init__(
        self,
        *,
        store: Store,
        bus: Bus,
        brain: Brain,
        actions: ActionRunner | None = None,
        generator: Generator | None = None,
        signer: SessionSigner | None = None,
        cache_size: int = 10_000,
    ) -> None:
        self.store = store
        self.bus = bus
        self.brain = brain
        self.actions = actions  # runs the KB's custom actions (in-process or a Rasa action server)
        self.generator = generator  # grounded generated replies (see bot/generation; its own timeouts), None: off
        self.signer = signer or SessionSigner(None)  # no secret: tokens end with this process
        self._locks: dict[str, asyncio.Lock] = {}
        self._cache: OrderedDict[str, Conversation] = OrderedDict()
        self._seqs: dict[str, int] = {}  # the last event number seen of each cached conversation
        self._cache_size = cache_size
        # Concurrent messages share one forward pass; one batch at a time (torch uses every core).
        self._batcher: MicroBatcher[Work, Understanding] = MicroBatcher(_understand)

    def swap_brain(self, brain: Brain) -> Brain:
        """Serve ``brain`` from the next message on; returns the one it replaces.

        A message already being handled finishes on the brain it started with (see ``_handle``).
        """
        old, self.brain = self.brain, brain
        logger.info("now serving build %s (was %s)", brain.build_id, old.build_id)
        return old

    async def open_session(self, token: str | None, *, page: str | None = None, language: str | None = None) -> Session:
        """Resume the conversation of ``token``, or start a new one (from ``page``, its browser in
        ``language``) when ``token`` is None."""
        if token is not None:
            self.signer.verify(token)  # forged, altered or expired: refused before the store is asked
            conversation_id = await self.store.conversation_for_token(token_hash(token))
            if conversation_id is None:
                raise ProtocolError("session_unknown", SESSION_UNKNOWN)
            async with self._lock(conversation_id):
                self._forget(conversation_id)  # another replica may have changed it since we cached it
                conversation = await self._conversation(conversation_id)
            if conversation.state is not State.CLOSED:
                return Session(token, conversation_id, conversation.state.value)
            # a closed conversation is over: the customer gets a new one (and a new token)
        token = self.signer.issue()
        conversation_id = await self.store.create_conversation(token_hash(token))
        conversation = Conversation(conversation_id)
        self._remember(conversation, seq=0)
        with conversation_context(conversation_id):
            composer = self.brain.composer_for(language)
            await self._append(conversation, conversation.start(composer, page=page, language=language))
            logger.info("conversation %s: started", conversation_id)
        return Session(token, conversation_id, conversation.state.value)

    async def customer_message(
        self, conversation_id: str, *, client_id: str, text: str, intent: str | None = None
    ) -> tuple[bool, list[StoredEvent]]:
        """Handle one customer message. Returns (duplicate, events).

        New messages are published on the bus (the customer message first, then the bot's events).
        A message id seen before is not handled again: its stored message and replies are returned.
        """
        async with self._turn(conversation_id):

            async def receive() -> Received | list[StoredEvent]:
                # on every attempt: a replica that lost a race may find the message stored by the winner
                existing = await self.store.find_customer_message(conversation_id, client_id)
                if existing is not None:
                    return await self._resent(existing, client_id, intent)
                brain = self.brain  # one build for the whole turn, even if a reload swaps it meanwhile
                conversation = await self._conversation(conversation_id)
                context = conversation.recent_turns  # before this message: the retriever's query context
                entities = [(e.entity, e.value) for e in brain.extractor.extract(text)]
                language = brain.language_of(text) if intent is None else None
                received = await self._append(
                    conversation,
                    conversation.receive(
                        text, client_id=client_id, chosen_intent=intent, entities=entities, language=language
                    ),
                )
                return Received(brain, conversation, context, entities, received)

            turn = await self._replaying(conversation_id, receive)
            if isinstance(turn, list):
                return True, turn
            await self.bus.publish(conversation_id, turn.events)
            try:
                stored = await self._respond(
                    turn.brain, turn.conversation, client_id, text, intent, turn.context, turn.entities
                )
            except BaseException:
                self._forget(conversation_id)
                raise
            return False, [*turn.events, *stored]

    async def _resent(self, existing: StoredEvent, client_id: str, intent: str | None) -> list[StoredEvent]:
        """A message id stored before: its stored replies, or, if it never got any, its answer now.

        A message can be stored and then not answered: the database failed on the reply, the
        process was killed mid-turn. The widget resends it, and the bot answers it then, as long as
        it is still the customer's latest message and the bot still holds the conversation. The
        answer is published on the bus like any other (so only the message itself is returned).
        """
        conversation_id = existing.conversation_id
        events = await self.store.events(conversation_id)
        replies = [e for e in events if e.data.get("reply_to") == client_id]
        latest = max((e.seq for e in events if e.kind == CUSTOMER_MESSAGE), default=0)
        if replies or existing.seq != latest:
            return [existing, *replies]
        self._forget(conversation_id)
        conversation = await self._conversation(conversation_id)
        if not conversation.bot_is_answering:
            return [existing]
        brain = self.brain
        text = str(existing.data.get("text", ""))
        context = Conversation.replay(conversation_id, [e for e in events if e.seq < existing.seq]).recent_turns
        entities = [(e.entity, e.value) for e in brain.extractor.extract(text)]
        logger.info("conversation %s: answering a resent message that was stored but not answered", conversation_id)
        try:
            await self._respond(brain, conversation, client_id, text, intent, context, entities)
        except BaseException:
            self._forget(conversation_id)
            raise
        return [existing]

    async def _respond(
        self,
        brain: Brain,
        conversation: Conversation,
        client_id: str,
        text: str,
        intent: str | None,
        context: tuple[str, ...],
        entities: list[tuple[str, str]],
    ) -> list[StoredEvent]:
        """Run the models on a stored customer message; store and publish the bot's events."""
        conversation_id = conversation.id
        understanding = None
        if conversation.bot_is_answering or conversation.state in AGENT_STATES:
            understanding = await self._batcher.submit((brain, text, context, conversation.language))
        received: list[StoredEvent] = []
        if understanding is not None and conversation.state in AGENT_STATES:
            # agent assist: the bot stays silent and suggests replies to the agent instead
            suggestions = await self._append_late(
                conversation,
                [assist_event(understanding, brain, client_id, conversation.slots, conversation.language)],
                agent_turn=True,
            )
            await self.bus.publish(conversation_id, suggestions)
            received = suggestions
        answer = await self._answer(brain, conversation, text, client_id, intent, understanding, entities)
        stored = await self._append_late(conversation, answer, agent_turn=False) if answer else []
        await self.bus.publish(conversation_id, stored)
        kinds = ",".join(e.kind for e in stored) or "none"
        top = understanding.prediction.top if understanding else None
        logger.info(
            "conversation %s: turn handled (reply=%s intent=%s p=%.2f state=%s build=%s)",
            conversation_id,
            kinds,
            top.intent if top else "-",
            top.probability if top else 0.0,
            conversation.state.value,
            brain.build_id,
        )
        return [*received, *stored]

    async def _answer(
        self,
        brain: Brain,
        conversation: Conversation,
        text: str,
        client_id: str,
        intent: str | None,
        understanding: Understanding | None,
        entities: list[tuple[str, str]],
    ) -> list[NewEvent]:
        """The bot's events for a turn: the form's when one is active or starts, else :meth:`_plain_answer`."""
        if not conversation.bot_is_answering or understanding is None:
            return []
        composer = brain.composer_for(conversation.language)
        notice = conversation.language_notice(composer)
        decision = conversation.decide(text, understanding, brain.policy_for(understanding), chosen_intent=intent)
        turn = conversation.form_turn(
            kb=brain.kb,
            composer=composer,
            text=text,
            client_id=client_id,
            understanding=understanding,
            decision=decision,
            entities=entities,
        )
        if turn is None:
            return notice + await self._plain_answer(
                brain, conversation, text, client_id, intent, understanding, entities, decision
            )

        async def plain(decided: Decision) -> list[NewEvent]:
            return await self._plain_answer(
                brain, conversation, text, client_id, intent, understanding, entities, decided
            )

        return notice + await finish_form_turn(
            turn,
            self.actions,
            plain,
            conversation=conversation,
            text=text,
            understanding=understanding,
            entities=entities,
        )

    async def _plain_answer(
        self,
        brain: Brain,
        conversation: Conversation,
        text: str,
        client_id: str,
        intent: str | None,
        understanding: Understanding,
        entities: list[tuple[str, str]],
        decision: Decision,
    ) -> list[NewEvent]:
        """A custom action's answer when the decided intent has one, else the policy's reply."""
        action = action_for(brain.kb, decision, conversation.slots) if decision.action is Action.ANSWER else None
        if action is not None and self.actions is not None:
            outcome = await run_action(
                self.actions,
                action,
                conversation=conversation,
                text=text,
                understanding=understanding,
                entities=entities,
                kb=brain.kb,
            )
            return conversation.action_answer(
                client_id=client_id,
                decision=decision,
                understanding=understanding,
                composer=brain.composer_for(conversation.language),
                outcome=outcome,
            )
        if decision.action is Action.GENERATE and self.generator is not None:
            return await generated_turn(
                self.generator,
                self.bus,
                brain=brain,
                conversation=conversation,
                text=text,
                client_id=client_id,
                decision=decision,
                understanding=understanding,
            )
        return conversation.answer(
            text,
            client_id=client_id,
            understanding=understanding,
            policy=brain.policy_for(understanding),
            composer=brain.composer_for(conversation.language),
            chosen_intent=intent,
            decision=decision,
        )

    async def change(self, conversation_id: str, step: Callable[[Conversation], list[NewEvent]]) -> list[StoredEvent]:
        """Apply ``step`` (a conversation-core call) under the conversation's lock; store and publish.

        Agents' claims, replies, hand-backs and closes go through here, one at a time per
        conversation: of two agents claiming at once, the second sees the first's claim.
        """
        async with self._turn(conversation_id):

            async def apply() -> list[StoredEvent]:
                conversation = await self._conversation(conversation_id)
                if conversation.is_empty:
                    raise ConversationError(f"no conversation {conversation_id}; pick one from the queue")
                return await self._append(conversation, step(conversation))

            stored = await self._replaying(conversation_id, apply)
            await self.bus.publish(conversation_id, stored)
            return stored

    async def _replaying(self, conversation_id: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt``; when another replica wrote first, replay the conversation and run it again.

        Any other failure also drops the cached conversation, so the next use replays it from the store.
        """
        for tries in range(CONFLICT_RETRIES + 1):
            try:
                return await attempt()
            except ConflictError:
                self._forget(conversation_id)
                if tries == CONFLICT_RETRIES:
                    raise
            except BaseException:
                self._forget(conversation_id)
                raise
        raise AssertionError("unreachable")

    async def state_of(self, conversation_id: str) -> Conversation:
        async with self._lock(conversation_id):
            return await self._conversation(conversation_id)

    async def close(self) -> None:
        await self._batcher.close()

    @contextlib.asynccontextmanager
    async def _turn(self, conversation_id: str) -> AsyncIterator[None]:
        """The conversation's lock, with its id on every log line meanwhile."""
        async with self._lock(conversation_id):
            with conversation_context(conversation_id):
                yield

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = self._locks[conversation_id] = asyncio.Lock()
        return lock

    async def _append(self, conversation: Conversation, events: Sequence[NewEvent]) -> list[StoredEvent]:
        """Store ``events`` after the last event this replica saw, or raise :class:`ConflictError`."""
        if not events:
            return []
        stored = await self.store.append(conversation.id, events, after=self._seqs.get(conversation.id, 0))
        self._seqs[conversation.id] = max([self._seqs.get(conversation.id, 0), *(e.seq for e in stored)])
        return stored

    async def _append_late(
        self, conversation: Conversation, events: Sequence[NewEvent], *, agent_turn: bool
    ) -> list[StoredEvent]:
        """Store what the bot made of a stored customer message, even if another replica wrote meanwhile.

        The models ran on the conversation as it was; if another replica appended since (the
        customer wrote from a second tab, an agent stepped in), the events still stand as long as
        the conversation is in the same hands: the bot's answer while the bot holds it, suggestions
        while an agent does. Otherwise they are dropped: the agent who took over answers instead.
        """
        try:
            return await self._append(conversation, events)
        except ConflictError:
            self._forget(conversation.id)
        for _ in range(CONFLICT_RETRIES):
            fresh = await self._conversation(conversation.id)
            still = fresh.state in AGENT_STATES if agent_turn else fresh.bot_is_answering
            if not still:
                logger.info("conversation %s: changed hands meanwhile; the bot's events were dropped", fresh.id)
                return []
            try:
                stored = await self._append(fresh, events)
            except ConflictError:
                self._forget(conversation.id)
                continue
            self._forget(conversation.id)  # replay with these events next time
            return stored
        raise StoreError(
            f"conversation {conversation.id} kept changing on other replicas; the message is stored and "
            "will be answered when it is resent"
        )

    async def _conversation(self, conversation_id: str) -> Conversation:
        conversation = self._cache.get(conversation_id)
        if conversation is None:
            events = await self.store.events(conversation_id)
            conversation = Conversation.replay(conversation_id, events)
            self._remember(conversation, seq=events[-1].seq if events else 0)
        else:
            self._cache.move_to_end(conversation_id)
        return conversation

    def _remember(self, conversation: Conversation, *, seq: int) -> None:
        self._cache[conversation.id] = conversation
        self._seqs[conversation.id] = seq
        while len(self._cache) > self._cache_size:
            old, _ = self._cache.popitem(last=False)
            self._seqs.pop(old, None)
            lock = self._locks.get(old)
            if lock is not None and not lock.locked():
                del self._locks[old]

    def _forget(self, conversation_id: str) -> None:
        """Drop the cached conversation: the next use replays it from the store."""
        self._cache.pop(conversation_id, None)
        self._seqs.pop(conversation_id, None)
