"""A form slot's check: a pattern the whole value must match, or a list of allowed values."""

from __future__ import annotations

import re
from typing import Any

from kb.forms_model import SlotCheck


def passes(check: SlotCheck, value: Any) -> tuple[bool, Any]:
    """(passed, value): a lookup value comes back as written in the list."""
    text = str(value).strip()
    if check.pattern is not None:
        return bool(re.fullmatch(check.pattern, text)), text
    for allowed in check.lookup:
        if allowed.casefold() == text.casefold():
            return True, allowed
    return False, value
