"""Shared fixtures: one really trained demo KB build per test session (about a minute on 2 CPUs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.ops.config import DEMO_KB

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests must never reach for a model hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def demo_builds_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new builds folder; ``DESKMATE_TEST_BUILDS`` names one kept between local runs instead (the
    demo's classifier is then reused while its intents stay the same; CI never sets it)."""
    kept = os.environ.get("DESKMATE_TEST_BUILDS")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        return Path(kept)
    return tmp_path_factory.mktemp("builds")


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    from retrieval.embedder import MiniLMEmbedder

    return MiniLMEmbedder()


@pytest.fixture(scope="session")
def demo_build(demo_builds_dir: Path, embedder):  # type: ignore[no-untyped-def]
    """The bundled demo KB, built for real: MiniLM fine-tuned on its intents, FAISS over its dialogues."""
    from kb.build import build_kb

    return build_kb(DEMO_KB, demo_builds_dir, embedder=embedder, progress=False)


@pytest.fixture(scope="session")
def demo_brain(demo_build, embedder):  # type: ignore[no-untyped-def]
    from bot.service.brain import Brain

    return Brain.load(demo_build, embedder)


@pytest.fixture(scope="session")
def postgres():  # type: ignore[no-untyped-def]
    """A real PostgreSQL server for the session (tests/services.py); ``postgres.new_database()`` per test."""
    from tests.services import PostgresServer

    server = PostgresServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A real redis-server for the session (tests/services.py)."""
    from tests.services import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.close()
