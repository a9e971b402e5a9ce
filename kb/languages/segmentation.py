"""Words in any script: where a word starts and ends when a language writes no spaces between them.

Chinese and Japanese run their words together, so ``\\b`` and ``(?<!\\w)`` find no edge between
"订单" and "PC-483920" in "订单PC-483920到哪了": every ideograph is a ``\\w`` character. Two tools:

* :data:`NOT_AFTER` / :data:`NOT_BEFORE`: whole-word edges for regular expressions (entity patterns
  and lookups, masking) where an ideograph counts as an edge, so a value written between Chinese
  characters is found, and "PC-4839201" is still not "PC-483920".
* :func:`words`: lowercased word tokens for BM25 and the lexical intent head. Runs of Chinese
  characters are segmented by jieba (PyPI; its dictionary ships in the package), everything else
  is split on ``\\w+`` as before, so English text gets the same tokens it always had. jieba is
  imported on the first Chinese text only.
"""

from __future__ import annotations

import re
import threading
from typing import Any

# Han (with extension A and compatibility ideographs), kana, Hangul, full-width forms
IDEOGRAPHIC = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\uff66-\uff9f"
SPACED_WORD = rf"[^\W{IDEOGRAPHIC}]"  # a word character of a script that puts spaces between words
NOT_AFTER = rf"(?<!{SPACED_WORD})"
NOT_BEFORE = rf"(?!{SPACED_WORD})"

_IDEOGRAPHS = re.compile(rf"[{IDEOGRAPHIC}]+")
_TOKEN = re.compile(rf"[{IDEOGRAPHIC}]+|{SPACED_WORD}+")
_jieba: Any = None
_lock = threading.Lock()


def has_ideographs(text: str) -> bool:
    """True when ``text`` holds a Chinese, Japanese or Korean character."""
    return _IDEOGRAPHS.search(text) is not None


def words(text: str) -> list[str]:
    """Lowercased word tokens of ``text``: jieba's words for runs of ideographs, ``\\w+`` runs otherwise."""
    tokens: list[str] = []
    for run in _TOKEN.findall(text.lower()):
        if _IDEOGRAPHS.fullmatch(run):
            tokens.extend(word for word in _segmenter().lcut(run) if word.strip())
        else:
            tokens.append(run)
    return tokens


def _segmenter() -> Any:
    global _jieba
    with _lock:
        if _jieba is None:
            import logging

            import jieba

            jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict" lines in the server's log
            jieba.initialize()
            _jieba = jieba
    return _jieba
