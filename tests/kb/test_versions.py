"""The active-build pointer (no model: builds are stand-in folders with a manifest)."""

from __future__ import annotations

import json
from pathlib import Path

from kb.build import BUILD_FORMAT, MANIFEST, list_builds
from kb.versions import ACTIVE, ActiveBuild, active_build_for, read_active, write_active


def fake_build(builds: Path, build_id: str, *, build_format: int = BUILD_FORMAT) -> None:
    folder = builds / build_id
    folder.mkdir(parents=True)
    manifest = {"id": build_id, "kb_name": "x", "content_hash": "c", "training_hash": "t", "created_at": 1.0}
    manifest["format"] = build_format
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def test_pointer_round_trip_and_replacement(tmp_path: Path) -> None:
    assert read_active(tmp_path) is None
    write_active(tmp_path, ActiveBuild("kb-1", "h1"))
    write_active(tmp_path, ActiveBuild("kb-2", "h2"))

    assert read_active(tmp_path) == ActiveBuild("kb-2", "h2")
    assert [p.name for p in tmp_path.iterdir()] == [ACTIVE]  # no temporary files left


def test_active_build_holds_only_while_the_kb_folder_is_unchanged(tmp_path: Path) -> None:
    fake_build(tmp_path, "kb-1")
    write_active(tmp_path, ActiveBuild("kb-1", "h1"))

    found = active_build_for(tmp_path, "h1")
    assert found is not None and found.id == "kb-1"
    assert active_build_for(tmp_path, "h-changed") is None


def test_a_missing_build_or_damaged_pointer_is_ignored(tmp_path: Path) -> None:
    write_active(tmp_path, ActiveBuild("kb-gone", "h1"))
    assert active_build_for(tmp_path, "h1") is None

    (tmp_path / ACTIVE).write_text("{not json", encoding="utf-8")
    assert read_active(tmp_path) is None


def test_a_build_of_an_older_format_is_never_served(tmp_path: Path) -> None:
    """A format-4 build holds past replies neither de-identified nor marked case-specific."""
    fake_build(tmp_path, "kb-old", build_format=BUILD_FORMAT - 1)
    write_active(tmp_path, ActiveBuild("kb-old", "h1"))

    assert active_build_for(tmp_path, "h1") is None  # the server builds the KB anew
    assert list_builds(tmp_path) == []
