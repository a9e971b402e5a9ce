"""Changes an admin makes to a KB folder from the admin page, checked before anything is written.

Three changes, each returning a :class:`KBEdit` record of what was written:

* :func:`add_examples`: customer messages become examples of an existing intent (intents.yml);
* :func:`new_intent`: a new intent with its examples (intents.yml) and one response (responses.yml);
* :func:`add_out_of_scope`: messages join the top-level ``out_of_scope`` list (intents.yml).

Every change runs under one lock per KB folder (``.kb-edits.lock``, an ``flock`` as for
approved.jsonl, so replicas sharing the folder edit one at a time). The current KB is loaded
first (a KB with problems is refused as it is: fix those first). The new file texts are made by
inserting lines into the old ones (kb/edits/yamltext.py: comments, order and spacing are kept),
then loaded with the rest of the KB from a temporary copy with :func:`kb.loader.load_kb`: a
change the loader refuses (too few examples, an example another intent has, a bad response) raises
its :class:`~bot.errors.KBValidationError`, whose issues name the file and the line *of the file
as it would have been written*, and nothing is written. Files are replaced in one step each (a
temporary file beside, then ``os.replace``); a new intent writes intents.yml, then responses.yml,
and puts intents.yml back if the second write fails.

Texts are written as given: de-identify customers' messages first (bot/service/kb_inbox.py does).
A text the intent (or the out-of-scope list) already has, case and spacing aside, is skipped and
listed in :attr:`KBEdit.skipped`; so a change made twice writes nothing the second time.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from bot.errors import KBValidationError
from kb.atomic import locked, replace_atomically
from kb.edits.yamltext import (
    append_block,
    append_entry,
    append_items,
    append_top_level_list,
    document,
    refuse,
    scalar,
    value_of,
)
from kb.loader import FILES, example_key, load_kb
from kb.model import OUT_OF_SCOPE, KnowledgeBase

INTENTS = "intents.yml"
RESPONSES = "responses.yml"
LOCK = ".kb-edits.lock"


class EditKind(StrEnum):
    ADD_EXAMPLES = "add_examples"
    NEW_INTENT = "new_intent"
    OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class KBEdit:
    """What one change wrote: the texts added, those already there, and the files replaced."""

    kind: EditKind
    intent: str | None  # the intent that got the examples (None: out of scope)
    added: tuple[str, ...]
    skipped: tuple[str, ...] = ()  # already in the KB (case and spacing aside): not written again
    files: tuple[str, ...] = ()  # the files replaced; empty when there was nothing new to write
    response: str | None = None  # a new intent's response

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "intent": self.intent,
            "added": list(self.added),
            "skipped": list(self.skipped),
            "files": list(self.files),
            "response": self.response,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KBEdit:
        return cls(
            kind=EditKind(data["kind"]),
            intent=data.get("intent"),
            added=tuple(str(t) for t in data.get("added", ())),
            skipped=tuple(str(t) for t in data.get("skipped", ())),
            files=tuple(str(f) for f in data.get("files", ())),
            response=data.get("response"),
        )


def example_text(text: str) -> str:
    """A customer's message as an intent example: on one line, its ``[`` and ``]`` made ``(`` and ``)``.

    (Brackets in an example are entity markup; a customer's brackets are not.)
    """
    return " ".join(text.replace("[", "(").replace("]", ")").split())


def add_examples(kb_root: str | Path, intent: str, texts: Sequence[str]) -> KBEdit:
    """Add ``texts`` to the examples of ``intent``, an intent of intents.yml."""
    root = Path(kb_root)
    wanted = _unique(example_text(t) for t in texts)
    with _locked(root):
        kb = load_kb(root)
        if intent not in kb.intent_names:
            raise _no_intent(kb, intent)
        have = {example_key(example) for example in kb.intent(intent).examples}
        new, skipped = _split(wanted, have)
        if not new:
            return KBEdit(EditKind.ADD_EXAMPLES, intent, (), skipped)
        text = (root / INTENTS).read_text(encoding="utf-8")
        updated = append_items(text, _examples_node(text, intent), new)
        _check(root, {INTENTS: updated})
        _replace(root / INTENTS, updated)
    return KBEdit(EditKind.ADD_EXAMPLES, intent, new, skipped, (INTENTS,))


def new_intent(
    kb_root: str | Path, name: str, examples: Sequence[str], response: str, *, label: str | None = None
) -> KBEdit:
    """Add the intent ``name`` with ``examples`` to intents.yml and ``response`` (one variation) to responses.yml.

    The loader's rules apply: a valid new name, at least 5 examples no other intent has, a response
    whose ``{slots}`` and braces are well formed.
    """
    root = Path(kb_root)
    wanted = _unique(example_text(t) for t in examples)
    reply = response.strip()
    with _locked(root):
        load_kb(root)
        intents_text = (root / INTENTS).read_text(encoding="utf-8")
        responses_text = (root / RESPONSES).read_text(encoding="utf-8")
        block = [f"- name: {scalar(name)}"]
        if label is not None and label.strip():
            block.append(f"  label: {scalar(' '.join(label.split()))}")
        block += ["  examples:", *(f"    - {scalar(example)}" for example in wanted)]
        intents = _top_level(intents_text, INTENTS, "intents", yaml.SequenceNode, "a list of intents")
        responses = _top_level(
            responses_text, RESPONSES, "responses", yaml.MappingNode, "a mapping of intent to replies"
        )
        new_intents = append_block(intents_text, intents, block, INTENTS)
        new_responses = append_entry(
            responses_text, responses, [f"{scalar(name)}:", f"  - {scalar(reply, flow=True)}"], RESPONSES
        )
        _check(root, {INTENTS: new_intents, RESPONSES: new_responses})
        _replace(root / INTENTS, new_intents)
        try:
            _replace(root / RESPONSES, new_responses)
        except BaseException:
            _replace(root / INTENTS, intents_text)
            raise
    return KBEdit(EditKind.NEW_INTENT, name, wanted, (), (INTENTS, RESPONSES), reply)


def add_out_of_scope(kb_root: str | Path, texts: Sequence[str]) -> KBEdit:
    """Add ``texts`` to the top-level ``out_of_scope`` list of intents.yml (made at its end when missing)."""
    root = Path(kb_root)
    wanted = _unique(" ".join(t.split()) for t in texts)
    with _locked(root):
        kb = load_kb(root)
        new, skipped = _split(wanted, {example_key(t) for t in kb.out_of_scope})
        if not new:
            return KBEdit(EditKind.OUT_OF_SCOPE, None, (), skipped)
        text = (root / INTENTS).read_text(encoding="utf-8")
        node = value_of(document(text, INTENTS), OUT_OF_SCOPE)
        if node is None:
            updated = append_top_level_list(text, OUT_OF_SCOPE, new)
        elif isinstance(node, yaml.SequenceNode):
            updated = append_items(text, node, new)
        else:
            line = node.start_mark.line + 1
            raise refuse(INTENTS, line, "`out_of_scope` must be a list of customer messages; make it one (`- text`)")
        _check(root, {INTENTS: updated})
        _replace(root / INTENTS, updated)
    return KBEdit(EditKind.OUT_OF_SCOPE, None, new, skipped, (INTENTS,))


# Reading the YAML ------------------------------------------------------------------------------


def _top_level(text: str, file: str, key: str, kind: type[yaml.Node], what: str) -> Any:
    node = value_of(document(text, file), key)
    if not isinstance(node, kind):
        line = node.start_mark.line + 1 if node is not None else 1
        raise refuse(file, line, f"`{key}` must be {what}; fix {file} by hand first")
    return node


def _examples_node(text: str, intent: str) -> yaml.SequenceNode:
    intents = _top_level(text, INTENTS, "intents", yaml.SequenceNode, "a list of intents")
    for item in intents.value:
        if not isinstance(item, yaml.MappingNode):
            continue
        name = value_of(item, "name")
        if not isinstance(name, yaml.ScalarNode) or name.value != intent:
            continue
        examples = value_of(item, "examples")
        if isinstance(examples, yaml.SequenceNode):
            return examples
        raise refuse(INTENTS, item.start_mark.line + 1, f"intent `{intent}` has no list of `examples` to add to")
    raise refuse(INTENTS, intents.start_mark.line + 1, f"there is no intent `{intent}` in {INTENTS}")


def _no_intent(kb: KnowledgeBase, intent: str) -> KBValidationError:
    known = ", ".join(kb.intent_names)
    message = f"there is no intent `{intent}`; add the messages to one of {known}, or make a new intent"
    return refuse(INTENTS, None, message)


# Checking and writing --------------------------------------------------------------------------


def _check(root: Path, replaced: dict[str, str]) -> None:
    """Load the KB with ``replaced`` (file name -> new text) in a temporary copy; raise what the loader finds."""
    with tempfile.TemporaryDirectory(prefix="deskmate-kb-edit-") as temp:
        folder = Path(temp)
        for name in FILES:
            if (root / name).is_file():
                shutil.copy2(root / name, folder / name)
        for name, text in replaced.items():
            (folder / name).write_text(text, encoding="utf-8")
        load_kb(folder)


def _replace(path: Path, text: str) -> None:
    replace_atomically(path, text.encode("utf-8"))


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    if not root.is_dir():
        raise refuse(str(root), None, "no such folder; pass the KB source folder (DESKMATE_KB_PATH)")
    with locked(root / LOCK):  # replicas sharing the KB folder: one read-check-write at a time
        yield


def _unique(texts: Iterable[str]) -> tuple[str, ...]:
    """The non-empty texts, the first of each that are the same case and spacing aside."""
    seen: dict[str, str] = {}
    for text in texts:
        if text and example_key(text) not in seen:
            seen[example_key(text)] = text
    return tuple(seen.values())


def _split(texts: Sequence[str], have: set[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    new = tuple(t for t in texts if example_key(t) not in have)
    return new, tuple(t for t in texts if example_key(t) in have)
