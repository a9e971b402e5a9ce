"""What a person sees while models load and train: no library bars, one readable training progress.

transformers draws a "Loading weights" bar for every model it loads (three on a first start);
:func:`quiet_library_progress` turns those off where Deskmate loads a model. Training reports
through :class:`TrainingProgress`: one tqdm bar on a terminal, and on anything else (a log file,
a pipe, journald) a plain line every few seconds, never a carriage return.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm

WHAT = "training the intent model"


def quiet_library_progress() -> None:
    """Turn off the progress bars of transformers and of huggingface_hub, which it turns off with its own.

    sentence-transformers loads its models through transformers, so this quietens it too.
    """
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


class TrainingProgress:
    """How far training is: a tqdm bar when ``stream`` is a terminal, else a plain line every ``interval`` seconds.

    A plain line reads ``training the intent model: epoch 2/4, 120/480 steps, 25%, about 40 s left``.
    ``headline`` is written first, as one line. ``clock`` (seconds) is ``time.monotonic``
    unless a test passes its own. Disabled, it writes nothing.
    """

    def __init__(
        self,
        *,
        total_steps: int,
        epochs: int,
        headline: str = "",
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        interval: float = 10.0,
        enabled: bool = True,
    ) -> None:
        self.total_steps, self.epochs = total_steps, epochs
        self.stream = stream if stream is not None else sys.stderr
        self.clock, self.interval, self.enabled = clock, interval, enabled
        self.done, self.epoch = 0, 1
        self.started = self.last = clock()
        if enabled and headline:
            self._write(headline)
        self._bar: tqdm[None] | None = None
        if enabled and _is_terminal(self.stream):
            self._bar = tqdm(total=total_steps, desc=WHAT, unit="step", file=self.stream, dynamic_ncols=True)

    def step(self, epoch: int, **postfix: str) -> None:
        """One training step of ``epoch`` done; ``postfix`` (loss, accuracy) shows beside the bar."""
        self.done, self.epoch = self.done + 1, epoch
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.set_postfix(epoch=f"{epoch}/{self.epochs}", **postfix, refresh=False)
            self._bar.update(1)
            return
        now = self.clock()
        if now - self.last >= self.interval:
            self.last = now
            self._write(self.line(now))

    def line(self, now: float) -> str:
        """The plain progress line at time ``now``."""
        percent = 100 * self.done // max(self.total_steps, 1)
        text = f"{WHAT}: epoch {self.epoch}/{self.epochs}, {self.done}/{self.total_steps} steps, {percent}%"
        if 0 < self.done < self.total_steps:
            left = (now - self.started) / self.done * (self.total_steps - self.done)
            text += f", about {_duration(left)} left"
        return text

    def close(self, note: str = "") -> None:
        """Training ended (``note``: why it ended early, if it did); a plain stream gets a last line."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
            if note:
                self._write(f"{WHAT}: {note}")
            return
        took = _duration(self.clock() - self.started)
        self._write(f"{WHAT}: done, {self.done} steps in {took}" + (f" ({note})" if note else ""))

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def _duration(seconds: float) -> str:
    """``40 s``, ``3 min``: rough on purpose."""
    if seconds < 90:
        return f"{max(round(seconds), 1)} s"
    return f"{round(seconds / 60)} min"
