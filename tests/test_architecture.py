"""The tree's import directions: each layer imports only the layers below it.

Every import in ``bot``, ``kb``, ``retrieval`` and ``training`` is read with :mod:`ast` (at module
level or inside a function alike) and checked against :data:`ALLOWED`. A failure names the file,
the line, the import and the rule, e.g.::

    bot/core/policy.py:12 imports bot.storage.store: core may import only errors, data

The layers, lowest first (see bot/__init__.py):

* ``errors``: the exceptions; ``data``: kb, retrieval and training (the KB format, the indexes
  and the models, which use one another);
* ``core``: the conversation core, without I/O;
* ``generation`` and ``actions``;
* ``storage`` and ``bus``: neither imports the other, the web or a service;
* ``ops``: settings, metrics, log context;
* ``service``, then ``web``, then ``app``;
* ``dialogue_tests``, ``bench`` and ``cli`` on top: nothing imports the CLI, and only the
  benchmarks themselves and the CLI's bench commands import a benchmark.

``kb/demo`` is the demo KB's own content (its custom actions are a user's code) and is not checked.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "kb", "retrieval", "training")
SKIPPED = ("kb.demo",)

_CORE = frozenset({"errors", "data", "core"})
_SERVICE = _CORE | {"generation", "actions", "storage", "bus", "ops", "service"}
ALLOWED: dict[str, frozenset[str]] = {
    "errors": frozenset(),
    "data": frozenset({"errors", "data"}),
    "core": _CORE,
    "generation": _CORE | {"generation"},
    "actions": frozenset({"errors", "actions"}),
    "storage": _CORE | {"storage"},
    "bus": _CORE | {"bus"},
    "ops": _CORE | {"storage", "ops"},
    "service": _SERVICE,
    "web": _SERVICE | {"web"},
    "app": _SERVICE | {"web", "app"},
    "dialogue_tests": _SERVICE | {"dialogue_tests"},
    "bench": _SERVICE | {"web", "app", "bench"},
    "cli": _SERVICE | {"web", "app", "dialogue_tests", "bench", "cli"},
}


def layer(module: str) -> str:
    """The layer a module of ours belongs to."""
    parts = module.split(".")
    if parts[0] != "bot":
        return "bench" if len(parts) > 1 and parts[1] == "bench" else "data"
    if len(parts) == 1:
        return "errors"  # bot/__init__.py: a docstring only
    return parts[1]


@dataclass(frozen=True)
class Import:
    path: Path  # relative to the root
    line: int
    importer: str
    imported: str


@dataclass(frozen=True)
class Violation:
    found: Import
    rule: str

    def __str__(self) -> str:
        return f"{self.found.path}:{self.found.line} imports {self.found.imported}: {self.rule}"


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(root: Path) -> Iterator[Import]:
    """Every import of one of our packages, in every module under ``root``'s packages."""
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            importer = module_name(path, root)
            if importer.startswith(SKIPPED):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                elif isinstance(node, ast.ImportFrom):
                    raise AssertionError(f"{path}:{node.lineno}: use an absolute import, as the rest of the tree does")
                else:
                    continue
                for name in names:
                    if name.split(".")[0] in PACKAGES:
                        yield Import(path.relative_to(root), node.lineno, importer, name)


def violations(root: Path) -> list[Violation]:
    found: list[Violation] = []
    for each in imports(root):
        source, target = layer(each.importer), layer(each.imported)
        allowed = ALLOWED[source]
        if target not in allowed:
            rule = f"{source} may import only {', '.join(sorted(allowed)) or 'nothing of ours'}"
            found.append(Violation(each, rule))
    return found


def test_every_import_runs_down_the_layers() -> None:
    problems = violations(ROOT)
    assert not problems, "imports that run the wrong way:\n" + "\n".join(str(p) for p in problems)


def test_every_module_is_in_a_known_layer() -> None:
    unknown = {layer(each.importer) for each in imports(ROOT)} - set(ALLOWED)
    assert not unknown, f"add these layers to ALLOWED in tests/test_architecture.py: {sorted(unknown)}"


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "bot/core/policy.py",
            "from bot.errors import X\n\nfrom bot.storage.store import Store\n",
            "bot/core/policy.py:3 imports bot.storage.store: core may import only core, data, errors",
        ),
        (
            "bot/storage/store.py",
            "def f():\n    from bot.service.chat import ChatService\n",
            "bot/storage/store.py:2 imports bot.service.chat: storage may import only core, data, errors, storage",
        ),
        ("bot/bus/base.py", "import bot.web.server\n", "bot/bus/base.py:1 imports bot.web.server: bus may import"),
        ("bot/service/chat.py", "from bot.cli.main import main\n", "imports bot.cli.main: service may import"),
        ("bot/web/server.py", "from bot.bench.load import run\n", "imports bot.bench.load: web may import"),
        ("retrieval/search.py", "from bot.core.policy import Action\n", "imports bot.core.policy: data may import"),
        ("kb/build.py", "from retrieval.bench.star import run\n", "imports retrieval.bench.star: data may import"),
    ],
)
def test_a_forbidden_import_is_named(tmp_path: Path, name: str, text: str, expected: str) -> None:
    root = _tree(tmp_path, {name: text})
    problems = [str(p) for p in violations(root)]
    assert len(problems) == 1 and expected in problems[0], problems


def test_allowed_imports_pass(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "bot/web/server.py": "from bot.service.chat import ChatService\nfrom bot.core.events import iso\n",
            "bot/cli/bench.py": "def run():\n    from retrieval.bench.star import run\n",
            "kb/demo/actions/__init__.py": "from bot.ops.config import Settings\n",
        },
    )
    assert violations(root) == []


def test_serving_imports_no_benchmark() -> None:
    """What ``deskmate serve`` loads (the CLI's entry point, bot.app and all they import) holds no benchmark."""
    import subprocess
    import sys

    code = (
        "import sys, bot.cli.main, bot.app\n"
        "print('\\n'.join(m for m in sys.modules if m.split('.')[0] in ('bot', 'kb', 'retrieval', 'training')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    modules = loaded.stdout.split()
    assert "bot.app" in modules
    offending = [m for m in modules if ".bench" in m and m != "bot.cli.bench"]
    assert not offending, offending


MAX_MODULES = 16  # a folder of more is a flat list again: split it by role


def test_no_package_is_a_flat_list() -> None:
    crowded = {}
    for package in PACKAGES:
        for init in (ROOT / package).rglob("__init__.py"):
            modules = list(init.parent.glob("*.py"))
            if len(modules) > MAX_MODULES:
                crowded[str(init.parent.relative_to(ROOT))] = len(modules)
    assert not crowded, f"split these folders by role (modules, counting __init__.py): {crowded}"
