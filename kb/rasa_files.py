"""Read a Rasa project's ``nlu.yml`` and ``domain.yml`` (Rasa 2/3 YAML) into plain values.

Only the structure is checked here; :mod:`kb.rasa_import` maps the values onto a Deskmate KB.
Problems that stop the import are :class:`~bot.errors.KBIssue` in ``issues``; things read but left
out are notes. Both name the Rasa file and the line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import KBIssue
from kb.yamlio import LineDict, LineList, YAMLSyntaxError, load_yaml

NLU_KINDS = ("intent", "synonym", "regex", "lookup")
VARIATION_IGNORED = ("buttons", "image", "custom", "attachment", "quick_replies", "elements", "channel", "condition")


@dataclass(frozen=True)
class Example:
    text: str  # as written in Rasa, markup included
    line: int


@dataclass
class NLUItem:
    """One ``- intent:`` / ``- synonym:`` / ``- regex:`` / ``- lookup:`` entry (same names merged)."""

    kind: str
    name: str
    line: int
    examples: list[Example] = field(default_factory=list)


@dataclass(frozen=True)
class Response:
    name: str  # e.g. utter_greet
    line: int
    texts: tuple[str, ...]  # the text variations; variations without text are left out (with a note)


@dataclass
class Report:
    """What reading (and then importing) found: blocking issues and informative notes."""

    issues: list[KBIssue] = field(default_factory=list)
    notes: list[KBIssue] = field(default_factory=list)

    def issue(self, file: Path, line: int | None, message: str) -> None:
        self.issues.append(KBIssue(str(file), line, message))

    def note(self, file: Path, line: int | None, message: str) -> None:
        self.notes.append(KBIssue(str(file), line, message))


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


def read_nlu(path: Path, report: Report) -> list[NLUItem]:
    """The items of ``nlu:``, entries of the same kind and name merged, in file order."""
    doc = read_yaml(path, report)
    if doc is None:
        return []
    raw = doc.get("nlu")
    if not isinstance(raw, LineList):
        report.issue(
            path,
            doc.line_of("nlu") if "nlu" in doc else 1,
            "no `nlu:` list of intents; pass a Rasa 2/3 nlu.yml (convert Markdown data with `rasa data convert nlu`)",
        )
        return []
    for key in doc:
        if key not in ("version", "nlu"):
            report.note(path, doc.line_of(key), f"`{key}:` is not NLU data; ignored")
    items: dict[tuple[str, str], NLUItem] = {}
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
            if key not in (kind, "examples"):
                report.note(path, entry.line_of(key), f"`{key}` of {kind} `{name}` is not used; ignored")
        item = items.setdefault((kind, name.strip()), NLUItem(kind, name.strip(), line))
        item.examples.extend(_examples(path, entry, f"{kind} `{name}`", report))
    return list(items.values())


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
                examples.append(Example(text.strip(), raw.line_of(index)))
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
            examples.append(Example(text, line))
    return examples


def read_domain(path: Path, report: Report) -> tuple[dict[str, int], dict[str, Response]]:
    """The domain's intents (name -> line) and its responses (text variations only)."""
    doc = read_yaml(path, report)
    if doc is None:
        return {}, {}
    intents = _domain_intents(path, doc, report)
    responses: dict[str, Response] = {}
    raw = doc.get("responses")
    if raw is None:
        report.note(path, 1, "the domain has no `responses:`; every intent is imported as `handoff: true`")
    elif not isinstance(raw, LineDict):
        report.issue(path, doc.line_of("responses"), "`responses:` must map `utter_...` names to variations")
    else:
        for name, variations in raw.items():
            response = _response(path, name, raw.line_of(name), variations, report)
            if response is not None:
                responses[name] = response
    ignored = [key for key in doc if key not in ("version", "intents", "responses")]
    if ignored:
        names = ", ".join(f"`{key}`" for key in ignored)
        report.note(path, doc.line_of(ignored[0]), f"{names} of the domain have no Deskmate equivalent; ignored")
    return intents, responses


def _domain_intents(path: Path, doc: LineDict, report: Report) -> dict[str, int]:
    raw = doc.get("intents", LineList())
    if not isinstance(raw, LineList):
        report.issue(path, doc.line_of("intents"), "`intents:` must be a list of intent names")
        return {}
    names: dict[str, int] = {}
    for index, item in enumerate(raw):
        name: Any = next(iter(item), None) if isinstance(item, LineDict) and len(item) == 1 else item
        if isinstance(name, str) and name.strip():
            names.setdefault(name.strip(), raw.line_of(index))
        else:
            report.issue(path, raw.line_of(index), "each domain intent must be a name (or `- name: {options}`)")
    return names


def _response(path: Path, name: str, line: int, variations: Any, report: Report) -> Response | None:
    if not isinstance(variations, LineList) or not variations:
        report.issue(path, line, f"response `{name}` must be a list of variations (`- text: ...`)")
        return None
    texts: list[str] = []
    for index, variation in enumerate(variations):
        at = variations.line_of(index)
        if not isinstance(variation, LineDict):
            report.issue(path, at, f"each variation of `{name}` must be a mapping like `- text: Hello!`")
            continue
        dropped = [key for key in variation if key != "text"]
        if dropped:
            keys = ", ".join(f"`{key}`" for key in dropped)
            known = all(key in VARIATION_IGNORED or key in ("id", "metadata") for key in dropped)
            why = "Deskmate sends text only" if known else "unknown to Deskmate"
            report.note(path, at, f"{keys} of a `{name}` variation ignored ({why})")
        text = variation.get("text")
        if isinstance(text, str) and text.strip():
            texts.append(text.strip())
        elif "text" in variation:
            report.issue(path, at, f"`text` of a `{name}` variation must be a non-empty string")
        else:
            report.note(path, at, f"a `{name}` variation has no `text`; left out")
    return Response(name, line, tuple(texts)) if texts else None
