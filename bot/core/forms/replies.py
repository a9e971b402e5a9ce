"""Plain yes, no and stop: what a form understands in any KB, whatever its intents.

A confirmation ("Shall I open the ticket?") and a stop request ("never mind") must work even when
the KB has no ``affirm``/``deny`` intents: short replies are read with these word lists first.
Only short replies count; "no, my order number is PC-123456" is an answer, not a no.
"""

from __future__ import annotations

import re

YES = "affirm"
NO = "deny"

_YES = re.compile(
    r"^(yes|yeah|yep|yup|ya|y|sure|ok|okay|k|correct|right|that'?s right|that is right|exactly|absolutely|"
    r"of course|please do|go ahead|do it|yes please|sounds good|confirm|confirmed|affirmative|definitely|"
    r"yes it is|yes that'?s right|yes correct|that'?s correct|please)$"
)
_NO = re.compile(
    r"^(no|nope|nah|n|no thanks|no thank you|not really|not now|no it'?s not|no it isn'?t|that'?s wrong|"
    r"wrong|incorrect|negative|don'?t|do not|no way|not that)$"
)
_STOP = re.compile(
    r"^(please )?(stop|cancel|quit|exit|abort|never ?mind|forget it|forget about it|leave it|skip it|"
    r"i changed my mind|i'?ve changed my mind|start over|stop this|cancel this|cancel that|stop it|"
    r"i don'?t want to (do this|continue)( anymore)?)( please| thanks| then)?$"
)
_TRIM = re.compile(r"[\s.!,;:)(\-]+")


def _plain(text: str) -> str:
    return _TRIM.sub(" ", text.casefold().replace("’", "'")).strip()


def yes_or_no(text: str) -> str | None:
    """``YES`` or ``NO`` for a plain yes/no reply, else None."""
    plain = _plain(text)
    if _YES.match(plain):
        return YES
    if _NO.match(plain):
        return NO
    return None


def is_stop(text: str) -> bool:
    """The customer asks to leave the task: "stop", "cancel", "never mind"..."""
    return bool(_STOP.match(_plain(text)))
