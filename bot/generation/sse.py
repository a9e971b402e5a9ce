"""An incremental decoder for server-sent events (the ``text/event-stream`` format).

Feed it the response body in whatever pieces the network delivers; it returns the ``data`` of
each complete event. Lines end with LF, CRLF or CR; ``data:`` lines of one event are joined with
LF; comments (``:``) and the other fields (``event``, ``id``, ``retry``) are ignored.
"""

from __future__ import annotations

import codecs


class SSEDecoder:
    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""  # text after the last complete line
        self._data: list[str] = []  # data lines of the event being read

    def feed(self, chunk: bytes) -> list[str]:
        """The data of the events that ``chunk`` completes, in order."""
        self._pending += self._text.decode(chunk)
        events: list[str] = []
        while True:
            end = _line_end(self._pending)
            if end is None:
                break
            line, self._pending = self._pending[: end[0]], self._pending[end[1] :]
            self._line(line, events)
        return events

    def close(self) -> list[str]:
        """The data of an event left unterminated at the end of the stream (servers often omit the blank line)."""
        self._pending += self._text.decode(b"", final=True)
        events: list[str] = []
        if self._pending:
            self._line(self._pending.removesuffix("\r"), events)
            self._pending = ""
        self._line("", events)
        return events

    def _line(self, line: str, events: list[str]) -> None:
        if not line:
            if self._data:
                events.append("\n".join(self._data))
                self._data = []
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)


def _line_end(text: str) -> tuple[int, int] | None:
    """(start, end) of the first line terminator in ``text``; None when none is complete yet."""
    for i, char in enumerate(text):
        if char == "\n":
            return i, i + 1
        if char == "\r":
            if i + 1 == len(text):
                return None  # a CR at the end may be the first half of CRLF
            return (i, i + 2) if text[i + 1] == "\n" else (i, i + 1)
    return None
