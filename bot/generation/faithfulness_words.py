"""The words of the faithfulness check of generated sentences (``bot/generation/faithfulness.py``).

Word lists: number words read as digits ("five" is "5") and units read as one unit ("weeks" is
"week"), so that "five days" matches "5 days"; stopwords, never lexical support nor in need of it;
the words that make a sentence a pleasantry when nothing else is in it; strict words (days, dates,
durations, seasons, sweeping words such as "free", "lifetime", "everywhere"), none of which may be
missing from the passages; and the words that open a negation ("not", "never", "without") and
close its scope ("but", "because", "and" before a new clause).

Phrase patterns: the rules every claim is held to (the bot claims to be a person or gives a name,
reports an action it did not take or a look-up it did not make, states the customer's order unless
after a condition), the admissions that need no support ("I don't know", "I can pass you on"), the
closing question ("anything else I can help with today?") and the "but" after which an admission
goes on to a claim.

Used only by :mod:`bot.generation.faithfulness`; a change here moves the precision and recall that
``deskmate bench faithfulness`` reports.
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    """The words of a word list written as one string."""
    return frozenset(text.split())


# --- word lists -----------------------------------------------------------------------------------

NUMBER_WORDS = {
    "zero": "0", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "fifteen": "15",
    "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "ninety": "90",
}  # fmt: skip
UNITS = {
    "day": "day", "days": "day", "week": "week", "weeks": "week", "month": "month", "months": "month",
    "year": "year", "years": "year", "hour": "hour", "hours": "hour", "minute": "minute",
    "minutes": "minute", "cm": "cm", "kg": "kg", "g": "g", "l": "l", "%": "%", "percent": "%",
    "°C": "°C", "pm": "pm", "am": "am", "pegs": "peg", "items": "item", "digits": "digit",
}  # fmt: skip
STOPWORDS = _words(
    """a about above after again all almost already also although am an and any anyone anything are aren't as at
    be because been before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each either else even ever every few for from further get gets getting got
    had hadn't has hasn't have haven't having he her here hers how however i i'd i'll i'm i've if in into is
    isn't it it's its itself just let let's like may me might more most much must mustn't my need needs never no
    nor not now of off on once one only or other our ours out over own per please quite rather really same see
    shall she should shouldn't so some something soon still such sure than that that's the their them then
    there there's these they they'll they're this those though through to too under until up upon us very via
    want was wasn't we we'd we'll we're we've were weren't what what's when where whether which while who whom
    whose why will with within without won't would wouldn't yes you you'd you'll you're you've your yours
    yourself simply easily usually normally often hi hello hey thanks thank ok okay oh well good great happy
    glad help helps helping sorry afraid hope hoping know make makes made use used using go goes going find
    check take takes able way ways including etc"""
)
PLEASANTRY = _words(
    """problem worries course certainly absolutely definitely welcome hear apologies apologise apologize
    inconvenience question questions enjoy day trip outdoors time chatting contacting reaching asking news
    love wonderful fantastic brilliant lovely kit hiking anything else assist assistance"""
)
STRICT_WORDS = _words(
    """monday tuesday wednesday thursday friday saturday sunday weekend weekends weekday weekdays
    today tonight tomorrow yesterday morning afternoon evening overnight week weeks month months year
    years hour hours minute minutes daily weekly monthly annually january february march april may june
    july august september october november december spring summer autumn winter season seasons
    lifetime forever permanently instantly immediately always never guarantee guaranteed guarantees free
    everywhere anywhere worldwide unlimited"""
)
SEASONS = frozenset({"spring", "summer", "autumn", "winter", "season"})
NEGATORS = frozenset({"not", "no", "never", "cannot", "nothing", "none", "nor", "without"})
SCOPE_ENDS = _words("but however so as because although though which while then unless if until instead")
CLAUSE_STARTS = _words("the we you it they your our a an there this i")

# --- phrase patterns ------------------------------------------------------------------------------

PERSON = re.compile(
    r"\b(?:i\s+am|i['’]m)\s+(?:not\s+a\s+bot\b|(?:a|an|one\s+of\s+the|part\s+of\s+(?:the|our)|on\s+the|with\s+the|"
    r"from\s+the)\s+(?:[a-z-]+\s+){0,3}?(?:human|person|agent|advisor|adviser|representative|colleague|employee|"
    r"team|staff)\b)|\b(?:i\s+am|i['’]m)\s+(?:a\s+)?(?:real|human|actual|live)\s+(?:person|human|agent|one)\b",
    re.IGNORECASE,
)
NAMED_PERSON = re.compile(r"\b(?:[Mm]y name is|[Mm]y name's|[Tt]his is|I['’]m|I am) [A-Z][a-z]+\b(?! Outfitters)")
ACTION = re.compile(
    r"(?<!until )(?<!once )(?<!after )(?<!when )(?<!before )(?<!if )"
    r"\b(?:i|we)\s*(?:['’]ve|\s+have)\s+(?:just\s+|now\s+|already\s+)?(?:cancell?ed|refunded|issued|sent|"
    r"updated|changed|arranged|processed|opened|passed|noted|removed|added|linked|emailed|booked|applied|"
    r"checked|escalated|reported|combined|reset|credited|reserved)\b"
    r"|\bi\s+can\s+see\b|\bi\s*['’]ve\s+looked\b|\blooking\s+at\s+your\s+(?:order|account)\b",
    re.IGNORECASE,
)
ORDER_STATE = re.compile(
    r"\byour\s+(?:order|parcel|package|return|refund|payment|item|items|delivery)\b[^.!?,]{0,20}?"
    r"\b(?:has|have|was|were|is|are)\s+(?:already|now|just|been|being|on\s+(?:its|the)\s+way|"
    r"out\s+for\s+delivery|in\s+transit|with\s+the\s+courier)",
    re.IGNORECASE,
)
CONDITIONAL = re.compile(r"\b(?:if|once|when|until|unless|before|after)\b", re.IGNORECASE)
ADMISSION = re.compile(
    r"\b(?:i|we)\s+(?:do\s+not|don['’]t|dont)\s+(?:know|have\s+(?:that|this|any|the|enough)\b)"
    r"|\bnot\s+(?:completely\s+|entirely\s+|100%\s+)?sure\b|\b(?:can['’]t|cannot|can\s+not|unable\s+to|not\s+able\s+to)\s+"
    r"(?:say|tell|confirm|answer|help\s+with\s+that)\b|\bpass\s+(?:you|this|it)\s+(?:on\s+)?(?:to|over)\b"
    r"|\bconnect\s+you\b|\bhand\s+(?:you\s+)?over\b|\btransfer\s+you\b|\bcolleague\b|\bhuman\s+agent\b"
    r"|\bmember\s+of\s+(?:our|the)\s+team\b",
    re.IGNORECASE,
)
CLOSING = re.compile(
    r"(?:is\s+there\s+)?anything\s+else\s+(?:i|we)\s+can\s+(?:help|do|assist)(?:\s+you)?(?:\s+with)?(?:\s+today)?\s*[?.!]*$",
    re.IGNORECASE,
)
BUT = re.compile(r"[,;]?\s+\b(?:but|however|although|though)\b\s+", re.IGNORECASE)
