"""Read the ``rules:`` and ``stories:`` of Rasa data files as lists of steps (structure only).

::

    rules:
    - rule: Submit the ticket form
      condition:
      - active_loop: ticket_form
      steps:
      - action: ticket_form
      - active_loop: null
      - action: action_submit_ticket

becomes a :class:`Flow` with its :class:`Step` values; :mod:`kb.rasa.dialogue` reads what they
mean. A step that is none of Rasa's kinds, or a rule without ``steps``, is an issue naming the
file and line: the import stops before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.rasa.files import Report
from kb.yamlio import LineDict, LineList

INTENT, ACTION, ACTIVE_LOOP, SLOT_WAS_SET, CHECKPOINT, OR, BOT, USER = (
    "intent",
    "action",
    "active_loop",
    "slot_was_set",
    "checkpoint",
    "or",
    "bot",
    "user",
)
STEP_KINDS = (INTENT, ACTION, ACTIVE_LOOP, SLOT_WAS_SET, CHECKPOINT, OR, BOT, USER)
STEP_EXTRAS = ("entities", "metadata")  # read with a step and not used
FLOW_KEYS = ("steps", "condition", "conversation_start", "wait_for_user_input", "metadata")


@dataclass(frozen=True)
class Step:
    kind: str  # one of STEP_KINDS
    name: str | None  # the intent, action, form, checkpoint or slot names; None for `active_loop: null`
    line: int
    alternatives: tuple[str, ...] = ()  # `or:` of intents: the intents (empty when it mixes other steps)


@dataclass(frozen=True)
class Flow:
    """A rule or a story."""

    kind: str  # "rule" | "story"
    name: str
    file: Path
    line: int
    steps: tuple[Step, ...]
    condition: tuple[Step, ...] = ()  # rules only: `active_loop` and `slot_was_set` steps
    conversation_start: bool = False
    wait_for_user_input: bool = True

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name!r}"


def read_flows(path: Path, doc: LineDict, report: Report) -> list[Flow]:
    """The rules and stories of one data file, in file order."""
    flows: list[Flow] = []
    for key, kind in (("rules", "rule"), ("stories", "story")):
        if key not in doc:
            continue
        raw = doc.get(key)
        if raw is None:
            continue
        if not isinstance(raw, LineList):
            report.issue(path, doc.line_of(key), f"`{key}:` must be a list of `- {kind}: name` entries with `steps:`")
            continue
        for index, item in enumerate(raw):
            flow = _flow(path, kind, item, raw.line_of(index), report)
            if flow is not None:
                flows.append(flow)
    return flows


def _flow(path: Path, kind: str, item: Any, line: int, report: Report) -> Flow | None:
    if not isinstance(item, LineDict) or kind not in item:
        report.issue(path, line, f"each entry must be a mapping starting with `- {kind}: a name`, then `steps:`")
        return None
    name = str(item[kind])
    for key in item:
        if key != kind and key not in FLOW_KEYS:
            report.note(path, item.line_of(key), f"`{key}` of {kind} {name!r} is unknown to Deskmate; ignored")
    raw = item.get("steps")
    if not isinstance(raw, LineList) or not raw:
        where = item.line_of("steps") if "steps" in item else line
        report.issue(
            path, where, f"{kind} {name!r} needs `steps:`, a non-empty list of `- intent:` / `- action:` steps"
        )
        return None
    count = len(report.issues)
    steps = [_step(path, step, raw.line_of(index), f"{kind} {name!r}", report) for index, step in enumerate(raw)]
    condition: list[Step | None] = []
    raw_condition = item.get("condition")
    if raw_condition is not None:
        if kind != "rule" or not isinstance(raw_condition, LineList):
            report.issue(path, item.line_of("condition"), "`condition:` is a list of steps and only rules have one")
        else:
            what = f"the condition of rule {name!r}"
            condition = [_step(path, s, raw_condition.line_of(i), what, report) for i, s in enumerate(raw_condition)]
    if len(report.issues) > count:
        return None
    return Flow(
        kind=kind,
        name=name,
        file=path,
        line=line,
        steps=tuple(s for s in steps if s is not None),
        condition=tuple(s for s in condition if s is not None),
        conversation_start=item.get("conversation_start") is True,
        wait_for_user_input=item.get("wait_for_user_input") is not False,
    )


def _step(path: Path, raw: Any, line: int, what: str, report: Report) -> Step | None:
    if not isinstance(raw, LineDict):
        report.issue(path, line, f"a step of {what} must be a mapping like `- intent: greet`; found {raw!r}")
        return None
    kinds = [key for key in STEP_KINDS if key in raw]
    if USER in kinds and INTENT in kinds:  # an end-to-end step: the text and its intent
        kinds.remove(USER)
    if len(kinds) != 1:
        found = ", ".join(f"`{key}`" for key in raw) or "nothing"
        report.issue(path, line, f"a step of {what} needs one of {', '.join(STEP_KINDS)}; found {found}")
        return None
    kind = kinds[0]
    for key in raw:
        if key not in (kind, USER, *STEP_EXTRAS):
            report.note(path, raw.line_of(key), f"`{key}` of a step of {what} is unknown to Deskmate; ignored")
    value = raw[kind]
    if kind == OR:
        return _or_step(path, value, line, what, report)
    if kind == SLOT_WAS_SET:
        names = [next(iter(v)) if isinstance(v, LineDict) and v else v for v in value or []]
        return Step(kind, ", ".join(str(n) for n in names), line)
    if kind == ACTIVE_LOOP and value is None:
        return Step(kind, None, line)
    if not isinstance(value, str) or not value.strip():
        report.issue(path, line, f"`{kind}:` in {what} must be a name (quote it if YAML reads it as {value!r})")
        return None
    return Step(kind, value.strip(), line)


def _or_step(path: Path, value: Any, line: int, what: str, report: Report) -> Step | None:
    if not isinstance(value, LineList) or not value:
        report.issue(path, line, f"`or:` in {what} must be a list of steps (`- intent: ...`)")
        return None
    alternatives = [_step(path, v, value.line_of(i), what, report) for i, v in enumerate(value)]
    if any(step is None for step in alternatives):
        return None
    intents = tuple(step.name for step in alternatives if step is not None and step.kind == INTENT and step.name)
    mixed = len(intents) != len(alternatives)
    return Step(OR, ", ".join(intents), line, () if mixed else intents)
