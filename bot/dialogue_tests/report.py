"""Reports of a conversation-test run: failing steps as text, every step as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.dialogue_tests.matching import Observed, shorten
from bot.dialogue_tests.model import ANY_VALUE, UNCHECKED, Expect
from bot.dialogue_tests.runner import ConversationResult, RunResult, StepResult


def summary(result: RunResult) -> str:
    conversations = len(result.conversations)
    return (
        f"{conversations} conversation{'s' if conversations != 1 else ''}, {result.steps} "
        f"step{'s' if result.steps != 1 else ''}: {len(result.failed_steps)} failed"
    )


def text_report(result: RunResult) -> str:
    """Each failing step with where it is, what went wrong, what was expected and what happened; then the summary."""
    blocks = [describe_failure(conversation, step) for conversation, step in result.failed_steps]
    return "\n\n".join([*blocks, summary(result)])


def describe_failure(conversation: ConversationResult, step: StepResult) -> str:
    test = conversation.test
    lines = [f"FAIL {test.name}, step {step.number} ({step.step.where})"]
    said = step.step.said
    if step.sent is not None and step.step.button is not None:
        said += f" (sent {step.sent!r}" + (f" as {step.intent})" if step.intent else ")")
    lines.append(f"  customer: {shorten(said, 100)}")
    lines += [f"  - {failure}" for failure in step.failures]
    lines.append(f"  expected: {describe_expect(step.step.expect)}")
    if step.observed is not None:
        lines.append(f"  actual:   {describe_observed(step.observed)}")
    return "\n".join(lines)


def describe_expect(expect: Expect) -> str:
    parts: list[str] = []
    if expect.intent is not None:
        parts.append(f"intent {expect.intent}")
    if expect.replies:
        labels = ", ".join(r.label for r in expect.replies)
        parts.append(f"replies in order: {labels}" if expect.ordered and len(expect.replies) > 1 else labels)
    parts += [f"text {t!r}" for t in expect.texts]
    if expect.slots:
        parts.append("slots " + _slots({k: ("<any>" if v is ANY_VALUE else v) for k, v in expect.slots.items()}))
    if expect.form is not UNCHECKED:
        parts.append(f"form {expect.form or 'none'}")
    if expect.handoff is not None:
        parts.append("handoff " + (expect.handoff if isinstance(expect.handoff, str) else str(expect.handoff).lower()))
    if expect.clarify is not None:
        offered = ", ".join(expect.clarify) if isinstance(expect.clarify, tuple) else str(expect.clarify).lower()
        parts.append(f"clarify {offered}")
    return "; ".join(parts) or "(nothing checked)"


def describe_observed(observed: Observed) -> str:
    intent = observed.intent or "none"
    if observed.confidence is not None:
        intent += f" ({observed.confidence:.2f})"
    replies = " | ".join(item.describe() for item in observed.replies) or "none"
    return f"intent {intent}; replies: {replies}; slots {_slots(observed.slots)}; form {observed.form or 'none'}"


def _slots(slots: Any) -> str:
    if not slots:
        return "{}"
    return "{" + ", ".join(f"{k}: {v}" for k, v in slots.items()) + "}"


def json_report(result: RunResult, *, build: str | None = None) -> dict[str, Any]:
    """Every conversation and step with passed or failed, what was expected and what happened."""
    return {
        "passed": result.passed,
        "build": build,
        "summary": {
            "conversations": len(result.conversations),
            "failed_conversations": sum(not c.passed for c in result.conversations),
            "steps": result.steps,
            "failed_steps": len(result.failed_steps),
        },
        "conversations": [
            {
                "name": c.test.name,
                "file": c.test.where.file,
                "line": c.test.where.line,
                "format": c.test.format,
                "passed": c.passed,
                "steps": [_step(step) for step in c.steps],
            }
            for c in result.conversations
        ],
    }


def _step(step: StepResult) -> dict[str, Any]:
    out: dict[str, Any] = {"step": step.number, "file": step.step.where.file, "line": step.step.where.line}
    if step.step.button is not None:
        out["button"] = step.step.button
    else:
        out["user"] = step.step.text
    if step.intent is not None:
        out["sent_intent"] = step.intent
    out |= {
        "passed": step.passed,
        "failures": list(step.failures),
        "expected": step.step.expect.to_dict(),
        "actual": step.observed.to_dict() if step.observed is not None else None,
    }
    return out


def write_json(result: RunResult, path: Path, *, build: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(json_report(result, build=build), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
