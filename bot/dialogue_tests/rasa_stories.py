"""Rasa test stories (``tests/test_*.yml``) as conversation tests.

::

    stories:
      - story: order status
        steps:
          - user: |
              where is [PC-483920](order_id)?
            intent: order_status
          - action: action_order_status
          - slot_was_set:
              - order_id: PC-483920

Each ``user`` step is a turn; the ``action``, ``active_loop``, ``slot_was_set`` and ``bot`` steps
after it are what must follow in that turn. ``utter_x`` is a reply of response ``x`` (or
``utter_x``), ``utter_ask_x`` a form question for slot ``x`` (or the response ``ask_x``), another
name a custom action or a form. Rasa's built-in actions are read as in docs/testing.md; the
constructs Deskmate cannot play (checkpoints, ``or``, training-story steps without ``user``) are
issues with the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.dialogue_tests.model import (
    ANY_VALUE,
    UNCHECKED,
    ConversationTest,
    Expect,
    ExpectedReply,
    SlotValue,
    Step,
    Unchecked,
    Where,
)
from bot.errors import FileIssue
from kb.annotations import AnnotationError, parse_annotated
from kb.rasa.files import deskmate_name
from kb.yamlio import LineDict, LineList

TOP_KEYS = ("version", "stories")
STORY_KEYS = ("story", "steps", "metadata")
USER_KEYS = ("user", "intent", "entities")
IGNORED = ("action_listen", "action_extract_slots")  # what Rasa does between turns; nothing to check
RESTARTS = ("action_restart", "action_session_start")
FALLBACK = "action_default_fallback"
TWO_STAGE_FALLBACK = "action_two_stage_fallback"
DEACTIVATE = "action_deactivate_loop"
UNSUPPORTED_BUILTINS = (
    "action_back",
    "action_unlikely_intent",
    "action_default_ask_affirmation",
    "action_default_ask_rephrase",
    "action_revert_fallback_events",
)
PAYLOAD = re.compile(r"^/\w")


@dataclass
class _Turn:
    """A ``user`` step and what the story says follows it."""

    where: Where
    text: str
    intent: str | None = None
    entities: dict[str, str] = field(default_factory=dict)  # annotated in the text or under `entities:`
    replies: list[ExpectedReply] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    slots: dict[str, SlotValue] = field(default_factory=dict)
    form: str | Unchecked | None = UNCHECKED
    restart: bool = False

    def step(self) -> Step:
        expect = Expect(
            intent=self.intent,
            replies=tuple(self.replies),
            ordered=True,
            texts=tuple(self.texts),
            slots=dict(self.slots),
            form=self.form,
        )
        return Step(self.where, expect, text=self.text, restart=self.restart)


class _Reader:
    def __init__(self, file: str, issues: list[FileIssue]) -> None:
        self.file = file
        self.issues = issues

    def issue(self, line: int | None, message: str) -> None:
        self.issues.append(FileIssue(self.file, line, message))


def read_stories(doc: LineDict, file: str, issues: list[FileIssue]) -> list[ConversationTest]:
    """The stories of a Rasa test-stories file (``doc`` holds ``stories:``)."""
    reader = _Reader(file, issues)
    for key in doc:
        if key == "rules":
            reader.issue(
                doc.line_of(key), "`rules:` cannot be played as tests; write each rule as a story under `stories:`"
            )
        elif key not in TOP_KEYS:
            reader.issue(
                doc.line_of(key), f"`{key}:` is not part of Rasa test stories; keep only `version:` and `stories:`"
            )
    version = doc.get("version")
    if version is not None and str(version).split(".")[0] not in ("2", "3"):
        reader.issue(
            doc.line_of("version"), f"Rasa format version {version!r} is not supported; use a Rasa 2 or 3 file"
        )
    stories = doc.get("stories")
    if not isinstance(stories, LineList) or not stories:
        reader.issue(doc.line_of("stories"), "`stories:` must be a list of stories, each with `story:` and `steps:`")
        return []
    tests: list[ConversationTest] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(stories):
        test = _story(reader, item, stories.line_of(index))
        if test is None:
            continue
        if test.name in seen:
            reader.issue(
                test.where.line, f"a story named {test.name!r} is already at line {seen[test.name]}; rename one"
            )
            continue
        seen[test.name] = test.where.line
        tests.append(test)
    return tests


def _story(reader: _Reader, item: Any, line: int) -> ConversationTest | None:
    if not isinstance(item, LineDict):
        reader.issue(line, "each story is a mapping with `story:` and `steps:`")
        return None
    before = len(reader.issues)
    for key in item:
        if key not in STORY_KEYS:
            reader.issue(item.line_of(key), f"unknown key `{key}` in a story; use `story:` and `steps:`")
    name = item.get("story")
    if not isinstance(name, str) or not name.strip():
        reader.issue(item.line_of("story"), "this story has no `story:` name; add one (it names the story in reports)")
    steps = item.get("steps")
    if not isinstance(steps, LineList) or not steps:
        reader.issue(item.line_of("steps"), "`steps:` must be a list of steps")
        return None
    turns: list[_Turn] = []
    for index, step in enumerate(steps):
        _read_step(reader, step, steps.line_of(index), turns)
    if not turns and len(reader.issues) == before:
        reader.issue(item.line, "this story has no `user:` step; a test needs what the customer writes")
    if len(reader.issues) > before or not isinstance(name, str):
        return None
    return ConversationTest(name.strip(), Where(reader.file, item.line), tuple(t.step() for t in turns), "rasa")


def _read_step(reader: _Reader, step: Any, line: int, turns: list[_Turn]) -> None:
    if not isinstance(step, LineDict) or not step:
        reader.issue(line, "each step is a mapping such as `- user: hello` or `- action: utter_greet`")
        return
    if "user" in step:
        turn = _user(reader, step)
        if turn is not None:
            turns.append(turn)
        return
    if "checkpoint" in step:
        reader.issue(step.line, "checkpoints are not supported in conversation tests; write each path as a whole story")
        return
    if "or" in step:
        reader.issue(step.line, "`or` is not supported in conversation tests; write one story per alternative")
        return
    if "intent" in step:
        reader.issue(
            step.line,
            "an `intent:` step without `user:` is a training story; a test needs what the customer writes: "
            "`- user: hello` with `intent: greet` under it",
        )
        return
    key = next(iter(step))
    if len(step) > 1:
        reader.issue(
            step.line, f"a `{key}:` step has other keys ({', '.join(k for k in step if k != key)}); one per step"
        )
        return
    value, key_line = step[key], step.line_of(key)
    if key == "action":
        _action(reader, value, key_line, turns)
    elif key == "active_loop":
        _active_loop(reader, value, key_line, turns)
    elif key == "slot_was_set":
        _slot_was_set(reader, value, key_line, turns)
    elif key == "bot":
        if not isinstance(value, str) or not value.strip():
            reader.issue(key_line, "`bot:` must be the text the bot says")
        elif _current(reader, key_line, "bot", turns) is not None:
            turns[-1].texts.append(value.strip())
    else:
        reader.issue(
            key_line, f"unknown step `{key}:`; use user, action, active_loop, slot_was_set or bot (Rasa test stories)"
        )


def _current(reader: _Reader, line: int, key: str, turns: list[_Turn]) -> _Turn | None:
    if turns:
        return turns[-1]
    reader.issue(
        line,
        f"`{key}:` comes before the first `user:` step; the bot's greeting is not checked and no slot or form "
        "can be set before the customer writes: move it after a `user:` step",
    )
    return None


def _user(reader: _Reader, step: LineDict) -> _Turn | None:
    for key in step:
        if key not in USER_KEYS:
            reader.issue(step.line_of(key), f"unknown key `{key}` in a user step; use user, intent and entities")
    raw, line = step["user"], step.line_of("user")
    if not isinstance(raw, str) or not raw.strip():
        reader.issue(line, "`user:` must be the text the customer writes; put it in quotes or in a `|` block")
        return None
    # a turn even when its text is refused, so the steps after it are read as its own
    turn = _Turn(Where(reader.file, line), raw.strip())
    if PAYLOAD.match(raw.strip()):
        pass  # a button payload (/affirm, /inform{"slot": "value"}): sent as written, read as Rasa reads it
    else:
        try:
            annotated = parse_annotated(raw.strip(), ignore_keys=("role", "group"))
        except AnnotationError as exc:
            reader.issue(line, str(exc))
        else:
            turn.text = annotated.text
            turn.entities.update((span.entity, span.value) for span in annotated.spans)
    if "intent" in step:
        intent = step["intent"]
        if isinstance(intent, str) and intent.strip():
            turn.intent = deskmate_name(intent.strip())
        else:
            reader.issue(step.line_of("intent"), "`intent:` must be an intent name")
    if "entities" in step:
        _entities(reader, step["entities"], step.line_of("entities"), turn)
    return turn


def _entities(reader: _Reader, value: Any, line: int, turn: _Turn) -> None:
    if not isinstance(value, LineList):
        reader.issue(line, "`entities:` must be a list such as `- order_id: PC-483920`")
        return
    for index, item in enumerate(value):
        if isinstance(item, LineDict) and len(item) == 1:
            entity, found = next(iter(item.items()))
            if isinstance(found, (str, int, float)) and not isinstance(found, bool):
                turn.entities[entity] = str(found)
                continue
        elif isinstance(item, str):
            continue  # an entity without its value: nothing to expect of it
        reader.issue(value.line_of(index), "each entity is `- name: value`")


def _action(reader: _Reader, value: Any, line: int, turns: list[_Turn]) -> None:
    if not isinstance(value, str) or not value.strip():
        reader.issue(line, "`action:` must be an action name such as utter_greet")
        return
    name = value.strip()
    if not turns and name in ("action_listen", "action_session_start"):
        return  # how Rasa starts a conversation: Deskmate opens a fresh session for each story anyway
    turn = _current(reader, line, "action", turns)
    if turn is None or name in IGNORED:
        return
    if name in UNSUPPORTED_BUILTINS:
        reader.issue(line, f"Rasa's `{name}` has no Deskmate equivalent; remove the step")
    elif name in RESTARTS:
        turn.restart = True
    elif name == FALLBACK:
        turn.replies.append(ExpectedReply(name, fallback=True))
    elif name == TWO_STAGE_FALLBACK:
        turn.replies.append(ExpectedReply(name, fallback=True, clarify=True))
    elif name == DEACTIVATE:
        turn.form = None
    elif name.startswith("utter_ask_"):
        slot = name.removeprefix("utter_ask_")
        responses = frozenset({f"ask_{slot}", name})
        turn.replies.append(ExpectedReply(name, responses=responses, asks=frozenset({slot})))
    elif name.startswith("utter_"):
        bare = name.removeprefix("utter_")
        turn.replies.append(ExpectedReply(name, responses=frozenset({bare, deskmate_name(bare), name})))
    else:  # a custom action, or a form (named as `kb import-rasa` names it): Rasa stories name both the same way
        turn.replies.append(ExpectedReply(name, action=name, form=deskmate_name(name)))


def _active_loop(reader: _Reader, value: Any, line: int, turns: list[_Turn]) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        reader.issue(line, "`active_loop:` must be a form name, or null when no form is active")
        return
    turn = _current(reader, line, "active_loop", turns)
    if turn is not None:
        turn.form = deskmate_name(value.strip()) if isinstance(value, str) else None


def _slot_was_set(reader: _Reader, value: Any, line: int, turns: list[_Turn]) -> None:
    if not isinstance(value, LineList) or not value:
        reader.issue(line, "`slot_was_set:` must be a list such as `- order_id: PC-483920` or `- order_id`")
        return
    turn = _current(reader, line, "slot_was_set", turns)
    if turn is None:
        return
    for index, item in enumerate(value):
        if isinstance(item, str) and item.strip():
            slot = item.strip()
            # the value annotated in the message, if any; else any value
            turn.slots[slot] = turn.entities.get(slot, ANY_VALUE)
        elif isinstance(item, LineDict) and item:
            for slot, expected in item.items():
                if isinstance(expected, (dict, list)):
                    reader.issue(item.line_of(slot), f"slot `{slot}`: give one value (or null), not a mapping or list")
                else:
                    turn.slots[slot] = expected
        else:
            reader.issue(value.line_of(index), "each entry is `- slot: value` or `- slot`")
