"""Read the YAML files of a Rasa 2/3 project into plain values: NLU items and responses.

Only the structure is checked here; :mod:`kb.rasa.importer` maps the values onto a Deskmate KB.
Problems that stop the import are :class:`~bot.errors.KBIssue` in ``issues``; things read but left
out are notes. Both name the Rasa file and the line. Rules and stories are read by
:mod:`kb.rasa.flows`, the domain's other sections by :mod:`kb.rasa.domain`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import KBIssue
from kb.yamlio import LineDict, LineList, YAMLSyntaxError, load_yaml

NLU_KINDS = ("intent", "synonym", "regex", "lookup")
DATA_KEYS = ("nlu", "rules", "stories", "responses")  # what a file under data/ may hold
VARIATION_IGNORED = ("image", "custom", "attachment", "quick_replies", "elements", "channel", "condition")


@dataclass(frozen=True)
class Example:
    text: str  # as written in Rasa, markup included
    line: int
    file: Path


@dataclass
class NLUItem:
    """One ``- intent:`` / ``- synonym:`` / ``- regex:`` / ``- lookup:`` entry (same names merged)."""

    kind: str
    name: str
    line: int
    file: Path
    examples: list[Example] = field(default_factory=list)


@dataclass(frozen=True)
class RasaButton:
    title: str
    payload: str
    line: int


@dataclass(frozen=True)
class Variation:
    text: str
    line: int
    buttons: tuple[RasaButton, ...] = ()


@dataclass(frozen=True)
class Response:
    name: str  # e.g. utter_greet
    line: int
    file: Path
    variations: tuple[Variation, ...]  # variations without text are left out (with a note)

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(variation.text for variation in self.variations)


@dataclass
class Report:
    """What reading (and then importing) found: blocking issues and informative notes."""

    issues: list[KBIssue] = field(default_factory=list)
    notes: list[KBIssue] = field(default_factory=list)

    def issue(self, file: Path, line: int | None, message: str) -> None:
        self.issues.append(KBIssue(str(file), line, message))

    def note(self, file: Path, line: int | None, message: str) -> None:
        self.notes.append(KBIssue(str(file), line, message))


def deskmate_name(rasa_name: str) -> str:
    """A valid Deskmate name for a Rasa intent or form: ``faq/Ask-Hours`` -> ``faq_ask_hours``."""
    name = re.sub(r"[^a-z0-9_]+", "_", rasa_name.lower()).strip("_")
    if not name[:1].isalpha():
        name = f"intent_{name}".rstrip("_")
    return name[:64]


def read_yaml(path: Path, report: Report) -> LineDict | None:
    """The top-level mapping of a Rasa YAML file, or None (with an issue) if it cannot be used."""
    try:
        doc = load_yaml(path)
    except YAMLSyntaxError as exc:
        report.issue(path, exc.line, f"{exc}; fix the YAML syntax (check indentation and quotes)")
        return None
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        report.issue(path, None, "no such file; pass the path of the Rasa YAML file (one file, not a folder)")
        return None
    except UnicodeDecodeError:
        report.issue(path, None, "file is not UTF-8; save it as UTF-8")
        return None
    if doc is None:  # an empty file: nothing to read
        return LineDict()
    if not isinstance(doc, LineDict):
        report.issue(path, 1, "expected a YAML mapping at the top level (`version:`, then `nlu:` or `responses:`)")
        return None
    version = doc.get("version")
    if version is not None and str(version).split(".")[0] not in ("2", "3"):
        report.issue(
            path, doc.line_of("version"), f"Rasa format version {version!r} is not supported; use a Rasa 2 or 3 file"
        )
        return None
    return doc


def read_nlu(path: Path, doc: LineDict, report: Report, *, required: bool = False) -> list[NLUItem]:
    """The items of the ``nlu:`` list of ``doc``, in file order (an issue if ``required`` and absent)."""
    raw = doc.get("nlu")
    if raw is None and not required:
        return []
    if not isinstance(raw, LineList):
        report.issue(
            path,
            doc.line_of("nlu") if "nlu" in doc else 1,
            "no `nlu:` list of intents; pass a Rasa 2/3 nlu.yml (convert Markdown data with `rasa data convert nlu`)",
        )
        return []
    items: list[NLUItem] = []
    for index, entry in enumerate(raw):
        line = raw.line_of(index)
        if not isinstance(entry, LineDict):
            report.issue(path, line, f"each `nlu:` entry must be a mapping with one of {', '.join(NLU_KINDS)}")
            continue
        kinds = [key for key in NLU_KINDS if key in entry]
        if len(kinds) != 1:
            found = ", ".join(f"`{key}`" for key in entry) or "nothing"
            report.issue(path, line, f"an `nlu:` entry needs exactly one of {', '.join(NLU_KINDS)}; found {found}")
            continue
        kind = kinds[0]
        name = entry[kind]
        if not isinstance(name, str) or not name.strip():
            report.issue(path, entry.line_of(kind), f"`{kind}:` must be a name (quote it if YAML reads it as {name!r})")
            continue
        for key in entry:
            if key not in (kind, "examples", "metadata"):
                report.note(path, entry.line_of(key), f"`{key}` of {kind} `{name}` is not used; ignored")
        item = NLUItem(kind, name.strip(), line, path)
        item.examples.extend(_examples(path, entry, f"{kind} `{name}`", report))
        items.append(item)
    return items


def merge_items(items: list[NLUItem]) -> list[NLUItem]:
    """Entries of the same kind and name merged (Rasa merges them across files), in first-seen order."""
    merged: dict[tuple[str, str], NLUItem] = {}
    for item in items:
        first = merged.setdefault((item.kind, item.name), NLUItem(item.kind, item.name, item.line, item.file))
        first.examples.extend(item.examples)
    return list(merged.values())


def _examples(path: Path, entry: LineDict, what: str, report: Report) -> list[Example]:
    if "examples" not in entry:
        report.issue(path, entry.line, f"{what} has no `examples:`; add `examples: |` with one `- ` line per example")
        return []
    raw, key_line = entry["examples"], entry.line_of("examples")
    if isinstance(raw, str):
        return _block_examples(path, raw, key_line, what, report)
    if isinstance(raw, LineList):  # the long form: `- text: ...` items, each with optional metadata
        examples: list[Example] = []
        for index, item in enumerate(raw):
            text = item.get("text") if isinstance(item, LineDict) else item
            if isinstance(text, str) and text.strip():
                examples.append(Example(text.strip(), raw.line_of(index), path))
            else:
                report.issue(path, raw.line_of(index), f"each example of {what} must be `- text: ...`")
        return examples
    report.issue(path, key_line, f"`examples` of {what} must be a block of `- ` lines (write `examples: |`)")
    return []


def _block_examples(path: Path, block: str, key_line: int, what: str, report: Report) -> list[Example]:
    """Examples of an ``examples: |`` block; its lines start on the line after the key."""
    examples: list[Example] = []
    multiline = "\n" in block.rstrip("\n")
    for offset, raw_line in enumerate(block.splitlines()):
        line = key_line + 1 + offset if multiline or block.endswith("\n") else key_line
        stripped = raw_line.strip()
        if not stripped:
            continue
        if not stripped.startswith("-"):
            report.issue(path, line, f"example line of {what} must start with `- `: {stripped!r}")
            continue
        text = stripped[1:].strip()
        if text:
            examples.append(Example(text, line, path))
    return examples


def read_responses(path: Path, doc: LineDict, report: Report) -> dict[str, Response]:
    """The ``responses:`` of a domain or data file: each variation's text and buttons."""
    if "responses" not in doc:
        return {}
    raw = doc.get("responses")
    if not isinstance(raw, LineDict):
        report.issue(path, doc.line_of("responses"), "`responses:` must map `utter_...` names to variations")
        return {}
    responses: dict[str, Response] = {}
    for name, variations in raw.items():
        response = _response(path, name, raw.line_of(name), variations, report)
        if response is not None:
            responses[name] = response
    return responses


def _response(path: Path, name: str, line: int, variations: Any, report: Report) -> Response | None:
    if not isinstance(variations, LineList) or not variations:
        report.issue(path, line, f"response `{name}` must be a list of variations (`- text: ...`)")
        return None
    kept: list[Variation] = []
    for index, variation in enumerate(variations):
        at = variations.line_of(index)
        if not isinstance(variation, LineDict):
            report.issue(path, at, f"each variation of `{name}` must be a mapping like `- text: Hello!`")
            continue
        dropped = [key for key in variation if key not in ("text", "buttons")]
        if dropped:
            keys = ", ".join(f"`{key}`" for key in dropped)
            known = all(key in VARIATION_IGNORED or key in ("id", "metadata") for key in dropped)
            why = "Deskmate sends text and buttons only" if known else "unknown to Deskmate"
            report.note(path, at, f"{keys} of a `{name}` variation ignored ({why})")
        text = variation.get("text")
        if isinstance(text, str) and text.strip():
            kept.append(Variation(text.strip(), at, _buttons(path, name, variation, report)))
        elif "text" in variation:
            report.issue(path, at, f"`text` of a `{name}` variation must be a non-empty string")
        else:
            report.note(path, at, f"a `{name}` variation has no `text`; left out")
    return Response(name, line, path, tuple(kept)) if kept else None


def _buttons(path: Path, name: str, variation: LineDict, report: Report) -> tuple[RasaButton, ...]:
    raw = variation.get("buttons")
    if raw is None:
        return ()
    if not isinstance(raw, LineList):
        report.note(path, variation.line_of("buttons"), f"`buttons` of a `{name}` variation is not a list; ignored")
        return ()
    buttons: list[RasaButton] = []
    for index, item in enumerate(raw):
        at = raw.line_of(index)
        title = item.get("title") if isinstance(item, LineDict) else None
        payload = item.get("payload") if isinstance(item, LineDict) else None
        if isinstance(title, bool):
            report.note(path, at, f"a button title of `{name}` reads as {title!r}: put it in quotes; left out")
        elif isinstance(title, str | int | float) and str(title).strip() and isinstance(payload, str | int | float):
            buttons.append(RasaButton(str(title).strip(), str(payload).strip(), at))
        else:
            report.note(path, at, f"a button of `{name}` needs `title` and `payload`; left out")
    return tuple(buttons)
