"""Plain yes, no and stop: what a form understands in any KB, whatever its intents.

A confirmation ("Shall I open the ticket?") and a stop request ("never mind") must work even when
the KB has no ``affirm``/``deny`` intents: short replies are read with these word lists first.
Only short replies count; "no, my order number is PC-123456" is an answer, not a no. The lists
hold English and Chinese (是的, 不用了, 算了); Chinese punctuation is trimmed like ASCII.
"""

from __future__ import annotations

import re

YES = "affirm"
NO = "deny"

_YES = re.compile(
    r"^(yes|yeah|yep|yup|ya|y|sure|ok|okay|k|correct|right|that'?s right|that is right|exactly|absolutely|"
    r"of course|please do|go ahead|do it|yes please|sounds good|confirm|confirmed|affirmative|definitely|"
    r"yes it is|yes that'?s right|yes correct|that'?s correct|please|"
    r"是|是的|对|对的|对啊|没错|好|好的|好啊|行|可以|确认|确定|嗯|嗯嗯|是的没错|没问题|麻烦了|就这样)$"
)
_NO = re.compile(
    r"^(no|nope|nah|n|no thanks|no thank you|not really|not now|no it'?s not|no it isn'?t|that'?s wrong|"
    r"wrong|incorrect|negative|don'?t|do not|no way|not that|"
    r"不|不是|不对|不要|不用|不用了|不行|错了|不是的|没有|否)$"
)
_STOP = re.compile(
    r"^(please )?(stop|cancel|quit|exit|abort|never ?mind|forget it|forget about it|leave it|skip it|"
    r"i changed my mind|i'?ve changed my mind|start over|stop this|cancel this|cancel that|stop it|"
    r"i don'?t want to (do this|continue)( anymore)?)( please| thanks| then)?$|"
    r"^(算了|取消|不弄了|不办了|不要了|停|停止|退出|先不了|我不想(弄|办|继续)了|不用办了)(吧|了)?$"
)
_TRIM = re.compile(r"[\s.!,;:)(\-。！，；：（）～~、？?]+")


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
