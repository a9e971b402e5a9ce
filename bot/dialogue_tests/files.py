"""Reading conversation-test files: folders expanded, the format told by content, issues gathered."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.dialogue_tests.deskmate_format import read_conversations
from bot.dialogue_tests.model import ConversationTest
from bot.dialogue_tests.rasa_stories import read_stories
from bot.errors import ConversationFileError, FileIssue
from kb.yamlio import LineDict, YAMLSyntaxError, load_yaml

SUFFIXES = (".yml", ".yaml")


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """``paths`` with each folder replaced by the YAML files under it (sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file()))
        else:
            files.append(path)
    return files


def load_tests(paths: Sequence[Path]) -> list[ConversationTest]:
    """Every conversation of ``paths`` (files or folders); raise :class:`ConversationFileError` with every problem."""
    issues: list[FileIssue] = []
    tests: list[ConversationTest] = []
    files = expand_paths(paths)
    for path in files:
        tests.extend(read_file(path, issues))
    if not files:
        issues.append(FileIssue(", ".join(map(str, paths)), None, "no .yml files here; pass test files or folders"))
    if issues:
        raise ConversationFileError(issues)
    return tests


def read_file(path: Path, issues: list[FileIssue]) -> list[ConversationTest]:
    """The conversations of one file: Deskmate's format (``conversations:``) or Rasa test stories (``stories:``)."""
    file = str(path)
    try:
        doc = load_yaml(path)
    except YAMLSyntaxError as exc:
        issues.append(FileIssue(file, exc.line, f"{exc}; fix the YAML syntax (check indentation and quotes)"))
        return []
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        issues.append(FileIssue(file, None, "no such file; pass a test file (.yml) or a folder of them"))
        return []
    except UnicodeDecodeError:
        issues.append(FileIssue(file, None, "the file is not UTF-8; save it as UTF-8"))
        return []
    if isinstance(doc, LineDict) and "conversations" in doc:
        return read_conversations(doc, file, issues)
    if isinstance(doc, LineDict) and "stories" in doc:
        return read_stories(doc, file, issues)
    line = doc.line if isinstance(doc, LineDict) else 1
    issues.append(
        FileIssue(
            file,
            line,
            "not a conversation test file: start it with `conversations:` (Deskmate's format, docs/testing.md) "
            "or `stories:` (Rasa test stories)",
        )
    )
    return []
