"""retrieval.pairs: customer turns with context and the agent reply that followed."""

from __future__ import annotations

from retrieval.pairs import Pair, deduplicate, dialogue_pairs, join_context

TURNS = [
    ("customer", "my kettle leaks"),
    ("agent", "Is the lid closed?"),
    ("customer", "yes it is closed"),
    ("agent", "Then we will replace it."),
    ("customer", "how long will that take"),
    ("agent", "About three days."),
]


def test_join_context() -> None:
    assert join_context([], "hi") == "hi"
    assert join_context(["a", "b"], "c") == "a | b | c"


def test_pairs_with_default_context_of_two_turns() -> None:
    pairs = dialogue_pairs("k1", TURNS)

    assert pairs == [
        Pair("my kettle leaks", "my kettle leaks", "Is the lid closed?", "dialogue:k1#0"),
        Pair(
            "my kettle leaks | Is the lid closed? | yes it is closed",
            "yes it is closed",
            "Then we will replace it.",
            "dialogue:k1#2",
        ),
        Pair(
            "yes it is closed | Then we will replace it. | how long will that take",
            "how long will that take",
            "About three days.",
            "dialogue:k1#4",
        ),
    ]


def test_context_window_size() -> None:
    no_context = dialogue_pairs("k1", TURNS, context_turns=0)
    wide = dialogue_pairs("k1", TURNS, context_turns=10)

    assert [p.query for p in no_context] == [p.customer for p in no_context]
    assert wide[2].query == " | ".join(t for _, t in TURNS[:5])
    assert dialogue_pairs("k1", TURNS, context_turns=1)[1].query == "Is the lid closed? | yes it is closed"


def test_only_customer_then_agent_makes_a_pair() -> None:
    turns = [
        ("agent", "Hello, how can I help?"),
        ("customer", "hi"),
        ("customer", "my toaster burns bread"),
        ("agent", "Try setting 2."),
        ("agent", "Or send it back."),
        ("customer", "thanks"),
    ]

    pairs = dialogue_pairs("t", turns, context_turns=1)

    assert len(pairs) == 1
    assert pairs[0].customer == "my toaster burns bread"
    assert pairs[0].query == "hi | my toaster burns bread"
    assert pairs[0].reply == "Try setting 2."
    assert pairs[0].source == "dialogue:t#2"


def test_short_dialogues() -> None:
    assert dialogue_pairs("x", []) == []
    assert dialogue_pairs("x", [("customer", "anyone?")]) == []


def test_deduplicate_ignores_case_and_spacing_and_keeps_the_first() -> None:
    a = Pair("Where is  my order", "Where is my order", "Check Account > Orders.", "faq:1")
    b = Pair("where is my order", "where is my order", "check account >   orders.", "dialogue:d9#0")
    c = Pair("where is my order", "where is my order", "It left yesterday.", "dialogue:d3#0")
    d = Pair("refund please", "refund please", "Check Account > Orders.", "faq:2")

    assert deduplicate([a, b, c, d, a]) == [a, c, d]
    assert deduplicate(iter([d])) == [d]
    assert deduplicate([]) == []
