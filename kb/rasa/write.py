"""Write the files of an imported KB folder (``deskmate kb import-rasa``) as readable YAML."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

LEFTOVERS = "rasa.yml"
ENTITIES, FORMS = "entities.yml", "forms.yml"
HEADER = "# Imported from Rasa by `deskmate kb import-rasa`; edit freely (see docs/kb-format.md).\n"


@dataclass
class KBFiles:
    """The content of the files to write; the optional ones are not written when empty."""

    meta: dict[str, Any]
    intents: list[dict[str, Any]]
    out_of_scope: list[str] = field(default_factory=list)
    responses: dict[str, list[Any]] = field(default_factory=dict)
    entities: list[dict[str, Any]] = field(default_factory=list)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    leftovers: dict[str, dict[str, Any]] = field(default_factory=dict)


class _Dumper(yaml.SafeDumper):
    """Block style with nested lists indented, multi-line text as ``|`` blocks, patterns in single quotes."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else "'" if "\\" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_str)


def _dump(path: Path, data: dict[str, Any]) -> None:
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000)
    path.write_text(HEADER + text, encoding="utf-8")


def write_kb(out: Path, files: KBFiles) -> None:
    """Write ``files`` into ``out``; optional files with nothing to hold are removed (stale ones included)."""
    out.mkdir(parents=True, exist_ok=True)
    _dump(out / "kb.yml", files.meta)
    intents: dict[str, Any] = {"intents": files.intents}
    if files.out_of_scope:
        intents["out_of_scope"] = files.out_of_scope
    _dump(out / "intents.yml", intents)
    _dump(out / "responses.yml", {"responses": files.responses})
    optional: tuple[tuple[str, Any, dict[str, Any]], ...] = (
        (ENTITIES, files.entities, {"entities": files.entities}),
        (FORMS, files.forms, {"forms": files.forms}),
        (
            LEFTOVERS,
            files.leftovers,
            {"note": "Kept from the Rasa import for reference; Deskmate does not read this file.", **files.leftovers},
        ),
    )
    for name, content, document in optional:
        if content:
            _dump(out / name, document)
        else:
            (out / name).unlink(missing_ok=True)  # a stale one from an earlier import into this folder
