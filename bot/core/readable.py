"""Whether a message holds anything to read: a letter or a digit in any script, outside markup.

A message of punctuation, symbols, emoji, control characters or markup alone (``<script>...</script>``,
``<b></b>``) says nothing the models can be trusted on: the policy asks to rephrase it like any
other failure, instead of handing a person junk on its first appearance.
"""

from __future__ import annotations

import re
import unicodedata

_CODE = re.compile(r"<(script|style)\b[^>]*>.*?(</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z!][^<>]*>?")


def words_in(text: str) -> str:
    """``text`` without markup: script and style blocks go whole, other tags go, their text stays."""
    return _TAG.sub(" ", _CODE.sub(" ", text))


def is_readable(text: str) -> bool:
    """True when ``text`` has a letter or digit (Unicode categories L* and N*) outside markup."""
    return any(unicodedata.category(char)[0] in "LN" for char in words_in(text))
