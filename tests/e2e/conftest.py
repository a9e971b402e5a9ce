from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.brain import Brain
from tests.e2e.server import running_server


@pytest.fixture(scope="module")
async def base(
    demo_brain: Brain, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """``127.0.0.1:PORT`` of a real server over its own SQLite file, one per test module."""
    db = tmp_path_factory.mktemp("db") / f"{request.module.__name__.rsplit('.', 1)[-1]}.sqlite3"
    async with running_server(demo_brain, db) as url:
        yield url
