"""Does a reply have the bot say it is a person?

The bot must never claim to be human. Past agent replies were written by people and say so ("This is
Ellie from the Pinecone Outfitters team", "I work in the warehouse"), so a reply the bot is about to send
is checked first. :func:`classify` is pure and rule-based, works on de-identified text (``I'm {name}
from the support team`` is a claim) and returns the first claim it finds with the words that made it.
The claims, each with a :attr:`PersonaVerdict.rule` name:

* ``says it is human``: "I'm a real person", "I'm human", "I am only human", "you're talking to a real
  person", "real person here";
* ``denies being a bot``: "I'm not a bot", "I am not an AI", "I'm no robot";
* ``own name``: "I'm Sarah from the support team", "Hi, I'm Sarah.", "my name is Sarah and I'll be
  helping you", "this is Tom from Pinecone", "It's {name} from the team here", "Sarah here, from
  returns". After "I'm" the name must be capitalised (so "I'm sorry", "I'm afraid", "I'm happy to help"
  and "I'm checking" are not names); after "this is" / "it's" it must be followed by "from", "at",
  "with", "of the", "on the" or "here" ("This is Account > Orders" is not a name);
* ``staff role``: "I'm a support agent at X", "I'm the advisor handling your case", "I'm part of the
  returns team", "I'm on the warehouse team", "I'm one of the advisors";
* ``speaks as staff or a person``: "speaking as a member of the team", "as a person, I ...", "as a
  fellow hiker";
* ``works there``: "I work in the warehouse", "I've worked here for six years", "my shift", "my manager";
* ``personal life``: "I own a pair myself", "my own tent", "I'm a keen climber", "my kids love it".

Never a claim: a word meaning software near the phrase ("I'm the Pinecone Outfitters assistant", "I'm a
virtual agent", "I'm Max, your virtual assistant", "I'm an automated assistant", "I'm not a person, I'm
a bot"), and talk about people other than the bot ("I'll pass you to a person", "an agent will reply",
"a member of our team will help", "would you like to speak to a real person?"). Pass the bot's own
names as ``bot_names`` so that "I'm Deskmate, here to help" is not read as a person's name.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from kb.languages.segmentation import has_ideographs
from retrieval.languages import chinese

__all__ = ["PersonaVerdict", "claims_to_be_person", "classify"]


@dataclass(frozen=True)
class PersonaVerdict:
    """Whether a text claims the speaker is a person; ``phrase`` is the claim, ``rule`` its kind."""

    claims_person: bool
    phrase: str = ""
    rule: str = ""


_F = re.IGNORECASE
_I_AM = r"\bI(?:'m|\s+am|m)\b"
_SOFTWARE = re.compile(
    r"\b(?:assistant|bot|chatbot|robot|ai|virtual|automated|automatic|digital|artificial|machine|computer|program|"
    r"software|chat\s+assistant|auto)\b",
    _F,
)
_NAME = r"(?:\{name\}|(?-i:[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?))"
_NOT_NAME = re.compile(  # capitalised words that follow "I'm" without being a name ("I'm Sorry", "I'm Happy to help")
    r"(?:sorry|afraid|happy|glad|here|just|not|checking|still|so|really|also|back|now|able|unable|going|looking|"
    r"trying|pleased|delighted|sure|certain|unsure|available|online|away|off|only|always|currently|your|the|an?|"
    r"very|thrilled|excited|honestly|actually|unfortunately)",
    _F,
)
_ROLE = (
    r"(?:agent|advisor|adviser|representative|rep|colleague|employee|team\s+member|staff\s+member|"
    r"member\s+of\s+(?:the|our)(?:\s+\w+)?\s+(?:team|staff)|manager|supervisor|specialist|technician|engineer|"
    r"consultant|person|human(?:\s+being)?|team\s+leader|customer\s+service\s+(?:agent|advisor|rep))"
)
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "says it is human",
        re.compile(
            rf"{_I_AM}\s+(?:only\s+|just\s+|also\s+|very\s+much\s+)?(?:a\s+)?(?:(?:real|actual|live|genuine)\s+"
            rf"(?:person|human(?:\s+being)?|agent|advisor|adviser)|human(?:\s+being)?)\b|\b(?:you're|you\s+are)\s+"
            r"(?:talking|chatting|speaking)\s+(?:to|with)\s+(?:a\s+)?(?:real|actual|live)\s+(?:person|human)\b|"
            r"\b(?:real|actual|live)\s+(?:person|human)\s+here\b|(?:^|[.!?]\s+)human\s+here\b",
            _F,
        ),
    ),
    (
        "denies being a bot",
        re.compile(
            rf"{_I_AM}\s+(?:not|no)\s+(?:a\s+|an\s+)?(?:bot|robot|chatbot|machine|computer|program|ai|automated)\b", _F
        ),
    ),
    (
        "own name",
        re.compile(
            rf"{_I_AM}\s+(?P<name>{_NAME})(?=\s+(?:from|at|with|of|on|in|here|and)\b|\s*[,.!;:-]|\s*$)|"
            rf"\bmy\s+name(?:'s|\s+is)\s+(?P<name2>{_NAME})|"
            rf"\b(?:this\s+is|it's|it\s+is)\s+(?P<name3>{_NAME})\s+(?:from|at|with|of\s+the|on\s+the|here)\b|"
            rf"(?:^|[.!?]\s+)(?P<name4>{_NAME})\s+here\s*(?:,|-|–|—|\bfrom\b)|(?P<name5>\{{name\}})\s+here(?![\w'])",
            _F,
        ),
    ),
    (
        "staff role",
        re.compile(
            rf"{_I_AM}\s+(?:(?:a|an|the|your|one\s+of\s+the|one\s+of\s+your)\s+(?:[\w-]+\s+){{0,3}}?{_ROLE}s?\b|"
            r"(?:part|one)\s+of\s+(?:the|our|your)\s+(?:[\w-]+\s+){0,2}?(?:team|staff|agents|advisors|advisers)\b|"
            r"(?:on|in|with)\s+the\s+(?:[\w-]+\s+){0,2}?(?:team|desk|department)\b)",
            _F,
        ),
    ),
    (
        "speaks as staff or a person",
        re.compile(
            r"\b(?:speaking\s+)?as\s+(?:a|an|one)\s+(?:member\s+of\s+(?:the|our)(?:\s+\w+)?\s+(?:team|staff)|"
            r"(?:real\s+)?(?:person|human(?:\s+being)?)|employee|team\s+member|member\s+of\s+staff|fellow\s+\w+|"
            r"(?:mum|dad|parent|mother|father))\b|\bspeaking\s+as\s+(?:someone|somebody)\b",
            _F,
        ),
    ),
    (
        "works there",
        re.compile(
            r"\bI(?:'ve|\s+have)?\s+(?:also\s+)?(?:work|worked|used\s+to\s+work|been\s+working)\s+(?:in|at|for|on\s+the|"
            r"here|with\s+the|in\s+the)\b|\bmy\s+(?:shift|lunch(?:\s+break)?|manager|supervisor|boss|team\s+leader|"
            r"line\s+manager|desk|colleagues\s+and\s+I)\b",
            _F,
        ),
    ),
    (
        "personal life",
        re.compile(
            r"\bI\s+(?:personally\s+)?(?:own|wear|use)\s+(?:a\s+pair|these|them|mine|one|the\s+same)\b|"
            r"\bI\s+personally\s+\w+|\bI(?:'ve|\s+have)\s+(?:worn|owned)\b|\bmy\s+own\s+(?:pair|tent|boots|jacket|"
            rf"bag|pack|kids|family)\b|{_I_AM}\s+(?:also\s+)?a\s+(?:keen|big|huge|fellow|regular|lifelong|passionate|"
            r"bit\s+of\s+a)\s+\w+|\bmy\s+(?:wife|husband|partner|kids|children|son|daughter|dog|mum|dad)\b",
            _F,
        ),
    ),
)


_NAMING = frozenset({"own name", "staff role"})  # rules a following "virtual assistant" takes back


def _software_near(text: str, start: int, end: int) -> bool:
    """A word meaning software in the claim or within the five words after it ("I'm Max, a virtual assistant")."""
    after = " ".join(text[end:].split()[:5])
    return bool(_SOFTWARE.search(text[start:end]) or _SOFTWARE.search(after))


def classify(text: str, *, bot_names: Collection[str] = ()) -> PersonaVerdict:
    """The first claim in ``text`` that the speaker is a person, if any; see the module docstring."""
    text = text.replace("\u2019", "'")
    own = {name.lower() for name in bot_names}
    for rule, pattern in _RULES:
        for match in pattern.finditer(text):
            names = [group for key, group in match.groupdict().items() if key.startswith("name") and group]
            if any(_NOT_NAME.fullmatch(name) or name.lower() in own for name in names):
                continue
            if rule in _NAMING and _software_near(text, match.start(), match.end()):
                continue
            return PersonaVerdict(claims_person=True, phrase=match.group(0).strip(" .!?,"), rule=rule)
    phrase = chinese.persona_phrase(text) if has_ideographs(text) else None  # retrieval/languages/chinese.py
    if phrase is not None:
        return PersonaVerdict(claims_person=True, phrase=phrase, rule="chinese")
    return PersonaVerdict(claims_person=False)


def claims_to_be_person(text: str, *, bot_names: Collection[str] = ()) -> bool:
    """True when ``text`` has the speaker claim to be a person (staff, a named agent, a human)."""
    return classify(text, bot_names=bot_names).claims_person
