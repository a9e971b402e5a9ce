"""training.progress: plain lines for a log file, one bar on a terminal, no library bars when models load."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest
from huggingface_hub.utils import are_progress_bars_disabled, enable_progress_bars
from transformers.utils import logging as transformers_logging

from training.progress import TrainingProgress


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_steps(progress: TrainingProgress, clock: FakeClock, *, epochs: int, steps: int, seconds: float) -> None:
    for epoch in range(1, epochs + 1):
        for _ in range(steps):
            clock.now += seconds
            progress.step(epoch, loss="0.500")


def test_a_log_file_gets_a_plain_line_at_each_interval_and_never_a_carriage_return() -> None:
    stream, clock = io.StringIO(), FakeClock()
    progress = TrainingProgress(
        total_steps=480, epochs=4, headline="first line", stream=stream, clock=clock, interval=10.0
    )

    run_steps(progress, clock, epochs=4, steps=120, seconds=0.5)  # 240 s in all: a line every 20 steps
    progress.close()

    text = stream.getvalue()
    lines = text.splitlines()
    assert "\r" not in text and "\x1b" not in text
    assert lines[0] == "first line"
    assert len(lines) == 1 + 24 + 1  # the headline, 240 s / 10 s, the last line
    assert lines[1] == "training the intent model: epoch 1/4, 20/480 steps, 4%, about 4 min left"
    assert lines[6] == "training the intent model: epoch 1/4, 120/480 steps, 25%, about 3 min left"
    assert lines[12] == "training the intent model: epoch 2/4, 240/480 steps, 50%, about 2 min left"
    assert lines[22] == "training the intent model: epoch 4/4, 440/480 steps, 91%, about 20 s left"
    assert lines[-1] == "training the intent model: done, 480 steps in 4 min"


def test_nothing_is_written_between_intervals() -> None:
    stream, clock = io.StringIO(), FakeClock()
    progress = TrainingProgress(total_steps=100, epochs=1, stream=stream, clock=clock, interval=10.0)

    run_steps(progress, clock, epochs=1, steps=19, seconds=0.5)
    assert stream.getvalue() == ""
    clock.now += 0.5
    progress.step(1)
    assert stream.getvalue() == "training the intent model: epoch 1/1, 20/100 steps, 20%, about 40 s left\n"


def test_an_early_stop_says_why_on_the_last_line() -> None:
    stream, clock = io.StringIO(), FakeClock()
    progress = TrainingProgress(total_steps=40, epochs=4, stream=stream, clock=clock, interval=60.0)

    run_steps(progress, clock, epochs=2, steps=10, seconds=1.0)
    progress.close("stopped after epoch 2")

    assert stream.getvalue() == "training the intent model: done, 20 steps in 20 s (stopped after epoch 2)\n"


def test_a_terminal_gets_one_tqdm_bar() -> None:
    stream, clock = Terminal(), FakeClock()
    progress = TrainingProgress(total_steps=30, epochs=3, headline="first line", stream=stream, clock=clock)

    run_steps(progress, clock, epochs=3, steps=10, seconds=1.0)
    progress.close()

    text = stream.getvalue()
    assert text.startswith("first line\n")
    assert "\r" in text and "training the intent model" in text and "30/30" in text
    assert "steps," not in text  # no plain lines on a terminal


def test_disabled_writes_nothing() -> None:
    stream, clock = io.StringIO(), FakeClock()
    progress = TrainingProgress(total_steps=10, epochs=1, headline="x", stream=stream, clock=clock, enabled=False)

    run_steps(progress, clock, epochs=1, steps=10, seconds=100.0)
    progress.close("why")

    assert stream.getvalue() == ""


@pytest.fixture
def library_bars_on() -> Iterator[None]:
    """Library bars on, as in a fresh process; turned off again afterwards, as Deskmate leaves them."""
    transformers_logging.enable_progress_bar()
    enable_progress_bars()
    yield
    transformers_logging.disable_progress_bar()


def load_embedder() -> None:
    from retrieval.embedder import MiniLMEmbedder

    MiniLMEmbedder().encode(["the model loads on first use"])


def load_classifier_base() -> None:
    from training.transformer import load_base

    load_base(2, ["yes", "no"])


@pytest.mark.usefixtures("library_bars_on")
@pytest.mark.parametrize("load", [load_embedder, load_classifier_base])
def test_loading_a_model_turns_the_library_bars_off(
    load: Callable[[], None], capfd: pytest.CaptureFixture[str]
) -> None:
    assert transformers_logging.is_progress_bar_enabled()

    load()

    assert not transformers_logging.is_progress_bar_enabled()
    assert are_progress_bars_disabled()
    assert "Loading weights" not in capfd.readouterr().err
