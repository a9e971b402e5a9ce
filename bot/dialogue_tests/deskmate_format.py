"""The Deskmate conversation-test format (docs/testing.md)::

    conversations:
      - name: delivery cost
        steps:
          - user: how much is delivery?
            intent: shipping_cost
            response: shipping_cost
            text: "£4.95"

Every problem is a :class:`FileIssue` with the file, the line and what to write instead.
"""

from __future__ import annotations

from typing import Any

from bot.dialogue_tests.model import (
    HANDOFF_REASONS,
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
from kb.yamlio import LineDict, LineList

TOP_KEYS = ("conversations",)
CONVERSATION_KEYS = ("name", "steps")
INPUTS = ("user", "button")
EXPECTATIONS = ("intent", "response", "action", "asks", "text", "slots", "form", "handoff", "clarify")
QUOTE_HINT = "put it in quotes (YAML reads yes, no, on, off and numbers as other types)"


class _Reader:
    def __init__(self, file: str, issues: list[FileIssue]) -> None:
        self.file = file
        self.issues = issues

    def issue(self, line: int | None, message: str) -> None:
        self.issues.append(FileIssue(self.file, line, message))

    def text(self, value: Any, line: int, key: str) -> str | None:
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, str):
            self.issue(line, f"`{key}:` is empty; write the text")
        else:
            self.issue(line, f"`{key}:` must be text, not {_kind(value)}; {QUOTE_HINT}")
        return None

    def texts(self, value: Any, line: int, key: str) -> tuple[str, ...]:
        """One text or a list of texts."""
        if isinstance(value, LineList):
            if not value:
                self.issue(line, f"`{key}:` is an empty list; give a name or a list of names")
            found = [self.text(item, value.line_of(i), key) for i, item in enumerate(value)]
            return tuple(t for t in found if t is not None)
        one = self.text(value, line, key)
        return (one,) if one is not None else ()


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return f"the number {value}" if isinstance(value, (int, float)) else type(value).__name__


def read_conversations(doc: LineDict, file: str, issues: list[FileIssue]) -> list[ConversationTest]:
    """The conversations of a Deskmate test file (``doc`` holds ``conversations:``)."""
    reader = _Reader(file, issues)
    for key in doc:
        if key not in TOP_KEYS:
            reader.issue(doc.line_of(key), f"unknown key `{key}`; a Deskmate test file has only `conversations:`")
    conversations = doc.get("conversations")
    line = doc.line_of("conversations")
    if not isinstance(conversations, LineList) or not conversations:
        reader.issue(line, "`conversations:` must be a list of conversations, each with `name:` and `steps:`")
        return []
    tests: list[ConversationTest] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(conversations):
        test = _conversation(reader, item, conversations.line_of(index))
        if test is None:
            continue
        if test.name in seen:
            reader.issue(
                test.where.line, f"a conversation named {test.name!r} is already at line {seen[test.name]}; rename one"
            )
            continue
        seen[test.name] = test.where.line
        tests.append(test)
    return tests


def _conversation(reader: _Reader, item: Any, line: int) -> ConversationTest | None:
    if not isinstance(item, LineDict):
        reader.issue(line, "each conversation is a mapping with `name:` and `steps:`")
        return None
    for key in item:
        if key not in CONVERSATION_KEYS:
            reader.issue(item.line_of(key), f"unknown key `{key}` in a conversation; use `name:` and `steps:`")
    name = reader.text(item.get("name"), item.line_of("name"), "name") if "name" in item else None
    if "name" not in item:
        reader.issue(item.line, "this conversation has no `name:`; add one (it names the conversation in reports)")
    steps = item.get("steps")
    if not isinstance(steps, LineList) or not steps:
        reader.issue(item.line_of("steps"), "`steps:` must be a list of steps, each with `user:` or `button:`")
        return None
    parsed = [_step(reader, step, steps.line_of(i)) for i, step in enumerate(steps)]
    if name is None or any(s is None for s in parsed):
        return None
    return ConversationTest(name, Where(reader.file, item.line), tuple(s for s in parsed if s is not None), "deskmate")


def _step(reader: _Reader, item: Any, line: int) -> Step | None:
    if not isinstance(item, LineDict):
        reader.issue(line, "each step is a mapping: `- user: what the customer writes`, then what must follow")
        return None
    before = len(reader.issues)
    for key in item:
        if key not in INPUTS and key not in EXPECTATIONS:
            reader.issue(
                item.line_of(key),
                f"unknown key `{key}` in a step; a step has `user:` or `button:`, and any of {', '.join(EXPECTATIONS)}",
            )
    inputs = [key for key in INPUTS if key in item]
    if len(inputs) != 1:
        what = "both `user:` and `button:`" if inputs else "neither `user:` nor `button:`"
        reader.issue(item.line, f"this step has {what}; give exactly one (what the customer types, or a button title)")
        return None
    key = inputs[0]
    said = reader.text(item[key], item.line_of(key), key)
    expect = _expect(reader, item)
    if said is None or len(reader.issues) > before:
        return None
    where = Where(reader.file, item.line)
    return Step(where, expect, text=said if key == "user" else None, button=said if key == "button" else None)


def _expect(reader: _Reader, item: LineDict) -> Expect:
    intent = reader.text(item["intent"], item.line_of("intent"), "intent") if "intent" in item else None
    replies: list[ExpectedReply] = []
    for name in reader.texts(item["response"], item.line_of("response"), "response") if "response" in item else ():
        replies.append(ExpectedReply(f"response {name}", responses=frozenset({name})))
    for name in reader.texts(item["action"], item.line_of("action"), "action") if "action" in item else ():
        replies.append(ExpectedReply(f"action {name}", action=name))
    if "asks" in item:
        slot = reader.text(item["asks"], item.line_of("asks"), "asks")
        if slot is not None:
            replies.append(ExpectedReply(f"asks {slot}", asks=frozenset({slot})))
    texts = reader.texts(item["text"], item.line_of("text"), "text") if "text" in item else ()
    return Expect(
        intent=intent,
        replies=tuple(replies),
        texts=texts,
        slots=_slots(reader, item) if "slots" in item else {},
        form=_form(reader, item),
        handoff=_handoff(reader, item),
        clarify=_clarify(reader, item),
    )


def _slots(reader: _Reader, item: LineDict) -> dict[str, SlotValue]:
    value, line = item["slots"], item.line_of("slots")
    if not isinstance(value, LineDict) or not value:
        reader.issue(line, "`slots:` must be a mapping of slot names to values, such as {order_id: PC-483920}")
        return {}
    slots: dict[str, SlotValue] = {}
    for slot, expected in value.items():
        if isinstance(expected, (dict, list)):
            reader.issue(
                value.line_of(slot), f"slot `{slot}`: give one value (or null for unset), not {_kind(expected)}"
            )
            continue
        slots[slot] = expected
    return slots


def _form(reader: _Reader, item: LineDict) -> str | Unchecked | None:
    if "form" not in item:
        return UNCHECKED
    value = item["form"]
    if value is None:
        return None
    return reader.text(value, item.line_of("form"), "form") or UNCHECKED


def _handoff(reader: _Reader, item: LineDict) -> bool | str | None:
    if "handoff" not in item:
        return None
    value = item["handoff"]
    if isinstance(value, bool) or (isinstance(value, str) and value in HANDOFF_REASONS):
        return value
    reader.issue(
        item.line_of("handoff"),
        f"`handoff:` must be true, false or a reason ({', '.join(HANDOFF_REASONS)}), not {value!r}",
    )
    return None


def _clarify(reader: _Reader, item: LineDict) -> bool | tuple[str, ...] | None:
    if "clarify" not in item:
        return None
    value = item["clarify"]
    if isinstance(value, bool):
        return value
    if isinstance(value, LineList) and value:
        return reader.texts(value, item.line_of("clarify"), "clarify")
    reader.issue(item.line_of("clarify"), "`clarify:` must be true, false or a list of intents the bot offers")
    return None
