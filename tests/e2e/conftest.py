from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from bot.ops.config import DEMO_KB
from bot.service.brain import Brain
from tests.e2e.server import running_server


@pytest.fixture(scope="module")
def kb_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo KB that a test module may edit and reload."""
    folder = tmp_path_factory.mktemp("kb") / "kb"
    shutil.copytree(DEMO_KB, folder)
    return folder


@pytest.fixture(scope="module")
async def base(
    demo_brain: Brain, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """``127.0.0.1:PORT`` of a real server over its own SQLite file, one per test module."""
    db = tmp_path_factory.mktemp("db") / f"{request.module.__name__.rsplit('.', 1)[-1]}.sqlite3"
    async with running_server(demo_brain, db) as url:
        yield url


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Debian's headless chromium driven by Playwright (never Playwright's own browser download)."""
    assert shutil.which("chromium") or shutil.which(CHROMIUM), "install Debian's chromium (tests/ci.sh does)"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()
