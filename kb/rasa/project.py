"""Find the files of a Rasa project as Rasa does, and read them into one :class:`RasaProject`.

::

    my-bot/
      config.yml       not read (the NLU pipeline and policies have no Deskmate equivalent)
      domain.yml       or domain/, a folder of domain files that are merged
      data/**/*.yml    training data: nlu:, rules:, stories: and responses:, in any combination
      actions/         custom actions, run by the Rasa action server; not read

``deskmate kb import-rasa --nlu F --domain F`` reads one NLU file and a domain file (or folder)
through the same path. Every problem names the file and the line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kb.rasa.domain import Domain, read_domain
from kb.rasa.files import DATA_KEYS, NLUItem, Report, Response, merge_items, read_nlu, read_responses, read_yaml
from kb.rasa.flows import Flow, read_flows

YAML_SUFFIXES = (".yml", ".yaml")


@dataclass
class RasaProject:
    data_files: list[Path]
    domain: Domain
    nlu: list[NLUItem] = field(default_factory=list)  # entries of the same kind and name merged
    responses: dict[str, Response] = field(default_factory=dict)  # the domain's and the data files'
    flows: list[Flow] = field(default_factory=list)  # rules and stories, in file order


def yaml_files(folder: Path) -> list[Path]:
    """The YAML files under ``folder``, recursively, in a stable order."""
    return sorted(p for p in folder.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())


def find_project(root: Path, report: Report, *, domain: Path | None = None) -> tuple[list[Path], list[Path]]:
    """(data files, domain files) of the project folder ``root``; ``domain`` overrides where the domain is."""
    if not root.is_dir():
        report.issue(root, None, "no such folder; pass the Rasa project folder (the one with domain.yml and data/)")
        return [], []
    data = root / "data"
    if not data.is_dir():
        report.issue(
            root, None, "no data/ folder with the training data; pass the project folder, or --nlu and --domain"
        )
        data_files: list[Path] = []
    else:
        data_files = yaml_files(data)
        if not data_files:
            report.issue(data, None, "no YAML files here; Rasa 2/3 training data is YAML (`rasa data convert`)")
    if domain is None:
        found = [root / name for name in ("domain.yml", "domain.yaml") if (root / name).is_file()]
        domain = found[0] if found else root / "domain"
        if not found and not domain.is_dir():
            report.issue(root, None, "no domain.yml and no domain/ folder; pass the domain with --domain")
            return data_files, []
    return data_files, domain_files(domain, report)


def domain_files(path: Path, report: Report) -> list[Path]:
    """``[path]`` for a domain file, the YAML files under it for a domain folder."""
    if not path.is_dir():
        return [path]  # a missing file is reported when it is read
    files = yaml_files(path)
    if not files:
        report.issue(path, None, "no YAML files in this domain folder; pass domain.yml or a folder of domain files")
    return files


def read_project(
    data_files: Sequence[Path], domain_paths: Sequence[Path], report: Report, *, nlu_file: Path | None = None
) -> RasaProject:
    """Read and merge the files; ``nlu_file`` (``--nlu``) must hold an ``nlu:`` list."""
    domain = read_domain(domain_paths, report)
    project = RasaProject(data_files=list(data_files), domain=domain, responses=dict(domain.responses))
    items: list[NLUItem] = []
    for path in data_files:
        doc = read_yaml(path, report)
        if doc is None:
            continue
        present = [key for key in DATA_KEYS if key in doc]
        if not present and path != nlu_file:
            report.note(path, 1, "holds no Rasa training data (`nlu:`, `rules:`, `stories:`, `responses:`); ignored")
            continue
        for key in doc:
            if key != "version" and key not in DATA_KEYS:
                report.note(path, doc.line_of(key), f"`{key}:` is not Rasa training data; ignored")
        items.extend(read_nlu(path, doc, report, required=path == nlu_file))
        project.flows.extend(read_flows(path, doc, report))
        for name, response in read_responses(path, doc, report).items():
            if name in project.responses:
                first = project.responses[name]
                message = f"response `{name}` is also defined in {first.file}:{first.line}; the first one is used"
                report.note(path, response.line, message)
            else:
                project.responses[name] = response
    project.nlu = merge_items(items)
    if not project.responses and domain_paths:
        report.note(domain_paths[0], 1, "the project has no `responses:`; intents are imported as `handoff: true`")
    return project
