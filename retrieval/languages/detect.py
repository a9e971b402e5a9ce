"""Which language a customer writes: py3langid (PyPI, BSD; its model ships in the package).

Why py3langid: it is small (4.6 MB, numpy only, 0.05 ms a message) and deterministic. lingua reads
short messages a little better but held 430 MB of memory with 18 languages loaded, as much as the
whole idle server. Short chat messages are where any detector guesses, so a guess is only taken
when it is sure: restricted to :data:`LANGUAGES` and at least :data:`MIN_CONFIDENCE`, py3langid
decided 469 of the 522 messages of the demo's eval sets (English, Spanish, Chinese), none wrong; "ok",
"hola" or an order number alone decide nothing, and the conversation keeps its language.

A message with Chinese characters and no kana or Hangul is Chinese without asking the model.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from kb.languages.segmentation import has_ideographs

# ISO 639-1 codes the detector chooses among: the most used languages of online shopping
LANGUAGES = ("en", "zh", "es", "fr", "de", "it", "pt", "nl", "ja", "ko", "ru", "ar", "pl", "tr", "vi", "id", "sv", "hi")
MIN_CONFIDENCE = 0.8
_KANA = re.compile("[\u3040-\u30ff]")
_HANGUL = re.compile("[\uac00-\ud7af]")


class LanguageDetector:
    """``detect(text)``: an ISO 639-1 code, or None when the text does not say (too short, mixed)."""

    def __init__(self, languages: tuple[str, ...] = LANGUAGES, *, min_confidence: float = MIN_CONFIDENCE) -> None:
        self.languages = languages
        self.min_confidence = min_confidence
        self._identifier: Any = None
        self._lock = threading.Lock()

    def detect(self, text: str) -> str | None:
        if has_ideographs(text):
            if _KANA.search(text):
                return "ja"
            return "ko" if _HANGUL.search(text) else "zh"
        if not any(char.isalpha() for char in text):
            return None
        language, confidence = self._model().classify(text)
        return str(language) if confidence >= self.min_confidence else None

    def warm(self) -> None:
        """Load the model now (a server does it at start)."""
        self._model()

    def _model(self) -> Any:
        with self._lock:
            if self._identifier is None:
                from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

                identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
                identifier.set_languages(list(self.languages))
                self._identifier = identifier
            return self._identifier


def base_language(tag: str | None) -> str | None:
    """The language of a browser or BCP 47 tag: "zh-CN" -> "zh", "en_GB" -> "en"; None for junk."""
    if not tag:
        return None
    base = re.split(r"[-_]", tag.strip(), maxsplit=1)[0].lower()
    return base if re.fullmatch(r"[a-z]{2,3}", base) else None
