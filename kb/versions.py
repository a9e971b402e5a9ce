"""Which build a service serves: the active-build pointer kept beside the builds.

``builds/ACTIVE.json`` names the build being served and the content hash of the KB folder at the
moment it was chosen. On start the service serves that build while the KB folder still has that
content (so a rollback survives a restart), and builds the folder again once its files changed.
The pointer is replaced atomically, never edited in place.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kb.build import BuildInfo, find_build

logger = logging.getLogger(__name__)

ACTIVE = "ACTIVE.json"


@dataclass(frozen=True)
class ActiveBuild:
    build_id: str
    source_hash: str  # content hash of the KB folder when this build was made active


def read_active(builds_dir: Path) -> ActiveBuild | None:
    path = builds_dir / ACTIVE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ActiveBuild(str(data["build_id"]), str(data["source_hash"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("ignoring the damaged %s (%s); the KB folder is built and served instead", path, exc)
        return None


def write_active(builds_dir: Path, active: ActiveBuild) -> None:
    builds_dir.mkdir(parents=True, exist_ok=True)
    # a unique temp name: replicas in other containers share this folder, and their pids repeat
    handle, name = tempfile.mkstemp(prefix=f".{ACTIVE}.", dir=builds_dir)
    with os.fdopen(handle, "w", encoding="utf-8") as temp:
        temp.write(json.dumps({"build_id": active.build_id, "source_hash": active.source_hash}))
    os.replace(name, builds_dir / ACTIVE)


def active_build_for(builds_dir: Path, source_hash: str) -> BuildInfo | None:
    """The active build, if it was chosen while the KB folder had ``source_hash`` and still exists."""
    active = read_active(builds_dir)
    if active is None or active.source_hash != source_hash:
        return None
    return find_build(builds_dir, active.build_id)
