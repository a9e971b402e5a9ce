"""Pick a response variation the known slots can fill, and fill it.

Only variations whose every ``{slot}`` has a value can be sent, and never one in which the bot says
it is a person. Among those, the ones that use the
most slots come first (a reply that names the customer's order beats a generic one); then, when
the caller knows how close each variation is in meaning to the customer's message (``scores``,
cosine similarities of sentence embeddings), the closest ones: "my tracking says delivered but
nothing's here" gets the variation about parcels marked delivered. Variations within
``TIE_MARGIN`` of the closest count as tied, and ``turn`` rotates among the tied ones. A slot without a value, or with only spaces, counts as unknown. When nothing
can be filled, :func:`missing_slots` says what to ask the customer for.

Values are customer text: they are inserted literally by one regex pass (kb/placeholders.py),
never through ``str.format``, so a value holding ``{other}`` or ``{0}`` stays as written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kb.model import Button, Template
from kb.placeholders import known_slots, slot_names, substitute


@dataclass(frozen=True)
class Rendered:
    """A filled variation, ready to send."""

    text: str
    buttons: tuple[Button, ...]
    used_slots: frozenset[str]  # the slots whose values are in ``text``


TIE_MARGIN = 0.01  # cosine similarities closer than this are equally close: those variations rotate


def choose(
    templates: Sequence[Template],
    slots: Mapping[str, str],
    *,
    turn: int,
    scores: Sequence[float] | None = None,
) -> Rendered | None:
    """The variation to send at ``turn``, filled from ``slots``; None when no variation can be filled.

    ``scores`` holds each variation's similarity to the customer's message, aligned with
    ``templates`` (ignored when it is not).
    """
    known = known_slots(slots)
    fillable = [index for index, t in enumerate(templates) if t.slots <= known.keys() and not t.persona]
    if not fillable:
        return None
    most = max(len(templates[i].slots) for i in fillable)
    best = [i for i in fillable if len(templates[i].slots) == most]
    if scores is not None and len(scores) == len(templates):
        closest = max(scores[i] for i in best)
        best = [i for i in best if scores[i] >= closest - TIE_MARGIN]
    template = templates[best[turn % len(best)]]
    return Rendered(substitute(template.text, known), template.buttons, template.slots)


def missing_slots(templates: Sequence[Template], slots: Mapping[str, str]) -> tuple[str, ...]:
    """The slots to ask for so a variation can be sent, in the order its text uses them.

    Empty when some variation can be filled already (or there are none). Otherwise they are the
    unknown slots of the variation that lacks the fewest, the first such variation on a tie.
    """
    known = known_slots(slots)
    lacking = [[name for name in slot_names(t.text) if name not in known] for t in templates]
    if not lacking or any(not names for names in lacking):
        return ()
    fewest = min(lacking, key=len)
    return tuple(fewest)


def render(template: Template, slots: Mapping[str, str]) -> str:
    """``template``'s text filled from ``slots``; ``KeyError`` names a slot it needs and lacks."""
    return substitute(template.text, known_slots(slots))
