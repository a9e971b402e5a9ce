"""/metrics on the real server: what a conversation leaves in the counters, and the optional token."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.service.brain import Brain
from tests.e2e.server import customer, running_service

TOKEN = "metrics-token-0123456789"


async def scrape(base: str, token: str | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The scraped samples; the HTTP call runs in a thread (the server shares this event loop)."""
    return await asyncio.to_thread(_scrape, base, token)


def _scrape(base: str, token: str | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    request = urllib.request.Request(f"http://{base}/metrics")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the open connection
        raise PermissionError(exc.code) from None
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_a_conversation_shows_in_the_metrics(demo_brain: Brain, tmp_path: Path) -> None:
    async with running_service(demo_brain, tmp_path / "db.sqlite3", metrics_token=TOKEN) as (base, _):
        with pytest.raises(PermissionError) as refused:
            await scrape(base)
        assert refused.value.args == (401,)
        with pytest.raises(PermissionError):
            await scrape(base, "wrong-token-0123456789")

        async with customer(base) as (client, _):
            await client.say("m1", "Where is my order?")
            await client.say("m2", "I want to talk to a real person")
            during = await scrape(base, TOKEN)
            assert during[("deskmate_open_connections", (("role", "customer"),))] == 1

        after = await scrape(base, TOKEN)
        assert after[("deskmate_customer_messages_total", ())] == 2
        assert after[("deskmate_handoffs_total", (("reason", "explicit_request"),))] == 1
        assert after[("deskmate_queue_length", ())] == 1
        assert after[("deskmate_reply_latency_seconds_count", ())] == 2
        assert after[("deskmate_intent_confidence_count", ())] >= 1
        assert after[("deskmate_open_connections", (("role", "customer"),))] == 0
        replies = sum(v for (name, labels), v in after.items() if name == "deskmate_bot_replies_total")
        assert replies >= 3  # the greeting, the answer, the handoff message
