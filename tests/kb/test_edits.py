"""KB changes from the admin inbox: written into a copy of the demo KB, checked by the loader first."""

from __future__ import annotations

import difflib
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.errors import KBValidationError
from bot.ops.config import DEMO_KB
from kb.edits import EditKind, add_examples, add_out_of_scope, example_text, new_intent
from kb.loader import load_kb

GIFT_CARDS = [
    "do you sell gift cards",
    "can I buy a gift voucher",
    "gift card for my sister please",
    "are there e-gift cards",
    "how do gift certificates work",
]


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(DEMO_KB, root)
    return root


def files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.glob("*.yml"))}


def only_added(before: str, after: str) -> list[str]:
    """The lines added, failing if any line of ``before`` was changed or removed (comments included)."""
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    assert not [line for line in diff if line.startswith("- ")], "a line of the file was changed"
    return [line[2:] for line in diff if line.startswith("+ ")]


def test_examples_are_added_to_an_intent_keeping_the_file_as_written(kb: Path) -> None:
    before = (kb / "intents.yml").read_text(encoding="utf-8")

    edit = add_examples(kb, "order_status", ["where's my stuff [urgent]", "Where is my order?", "yes", "a: b # c"])

    assert edit.kind is EditKind.ADD_EXAMPLES and edit.files == ("intents.yml",)
    assert edit.added == ("where's my stuff (urgent)", "yes", "a: b # c")  # brackets would read as entity markup
    assert edit.skipped == ("Where is my order?",)  # already an example of order_status
    added = only_added(before, (kb / "intents.yml").read_text(encoding="utf-8"))
    assert added == ["      - where's my stuff (urgent)", '      - "yes"', '      - "a: b # c"']
    examples = load_kb(kb).intent("order_status").examples
    assert examples[-3:] == ("where's my stuff (urgent)", "yes", "a: b # c")


def test_adding_the_same_examples_again_writes_nothing(kb: Path) -> None:
    add_examples(kb, "order_status", ["where's my parcel gone"])
    before = files(kb)

    again = add_examples(kb, "order_status", ["Where's my  PARCEL gone"])

    assert (again.added, again.files) == ((), ())
    assert again.skipped == ("Where's my PARCEL gone",)
    assert files(kb) == before


def test_a_new_intent_gets_its_examples_and_response(kb: Path) -> None:
    intents_before = (kb / "intents.yml").read_text(encoding="utf-8")
    responses_before = (kb / "responses.yml").read_text(encoding="utf-8")

    edit = new_intent(
        kb, "gift_cards", GIFT_CARDS, "Gift cards from £10 are under Account > Gift cards.", label="Gift cards"
    )

    assert edit.kind is EditKind.NEW_INTENT and edit.files == ("intents.yml", "responses.yml")
    # the demo separates its intents and its responses with a blank line: so are the new ones
    examples = "".join(f"      - {example}\n" for example in GIFT_CARDS)
    intent = f"\n  - name: gift_cards\n    label: Gift cards\n    examples:\n{examples}"
    intents = (kb / "intents.yml").read_text(encoding="utf-8")
    assert intent in intents and intents.replace(intent, "", 1) == intents_before
    response = '\n  gift_cards:\n    - "Gift cards from £10 are under Account > Gift cards."\n'
    responses = (kb / "responses.yml").read_text(encoding="utf-8")
    assert response in responses and responses.replace(response, "", 1) == responses_before
    loaded = load_kb(kb)
    assert loaded.intent("gift_cards").examples == tuple(GIFT_CARDS)
    assert loaded.intent("gift_cards").label == "Gift cards"
    assert loaded.responses["gift_cards"] == ("Gift cards from £10 are under Account > Gift cards.",)
    # the comment above out_of_scope still introduces it, not the new intent
    text = (kb / "intents.yml").read_text(encoding="utf-8")
    assert text.index("are there e-gift cards") < text.index("# Messages no intent covers")


def test_messages_join_the_out_of_scope_list(kb: Path) -> None:
    before = (kb / "intents.yml").read_text(encoding="utf-8")

    edit = add_out_of_scope(kb, ["can you do my  taxes", "will it rain tomorrow"])

    assert (edit.kind, edit.intent, edit.added, edit.skipped) == (
        EditKind.OUT_OF_SCOPE,
        None,
        ("can you do my taxes",),
        ("will it rain tomorrow",),
    )
    assert only_added(before, (kb / "intents.yml").read_text(encoding="utf-8")) == ["  - can you do my taxes"]
    assert load_kb(kb).out_of_scope[-1] == "can you do my taxes"


def test_a_missing_out_of_scope_list_and_a_flow_list_are_written_too(tmp_path: Path) -> None:
    root = tmp_path / "small"
    root.mkdir()
    (root / "kb.yml").write_text("name: Small\n", encoding="utf-8")
    words = ", ".join(f"hello {n}" for n in range(5))
    byes = ", ".join(f"bye {n}" for n in range(5))
    # no out_of_scope, flow-style examples, no newline at the end
    (root / "intents.yml").write_text(
        f"intents:\n- name: hi\n  examples: [{words}]\n- name: bye  # leaving\n  examples: [{byes}]", encoding="utf-8"
    )
    (root / "responses.yml").write_text("responses:\n  hi: [Hello!]\n  bye: [Bye!]\n", encoding="utf-8")

    add_examples(root, "hi", ["hey, you there"])
    add_out_of_scope(root, ["tell me a joke"])

    text = (root / "intents.yml").read_text(encoding="utf-8")
    assert '[hello 0, hello 1, hello 2, hello 3, hello 4, "hey, you there"]' in text
    assert "- name: bye  # leaving" in text
    assert text.endswith("\nout_of_scope:\n  - tell me a joke\n")
    loaded = load_kb(root)
    assert loaded.intent("hi").examples[-1] == "hey, you there"
    assert loaded.out_of_scope == ("tell me a joke",)


def test_a_change_the_loader_refuses_is_not_written_and_names_file_and_line(kb: Path) -> None:
    before = files(kb)

    with pytest.raises(KBValidationError) as too_few:
        new_intent(kb, "student_discount", ["student discount?", "do students get money off"], "10% off with a code.")
    with pytest.raises(KBValidationError) as taken:
        add_examples(kb, "greet", ["Where is my order?"])  # an example of order_status
    with pytest.raises(KBValidationError) as braces:
        new_intent(kb, "gift_cards", GIFT_CARDS, "Gift cards cost {price")
    with pytest.raises(KBValidationError) as unknown:
        add_examples(kb, "gift_cards", ["gift card please"])

    [issue] = too_few.value.issues
    assert issue.file == "intents.yml" and isinstance(issue.line, int)
    assert "intent `student_discount` has 2 examples; add at least 5" in issue.message
    [issue] = taken.value.issues
    assert issue.file == "intents.yml" and isinstance(issue.line, int)
    assert "of intent `order_status` is also an example of intent `greet`" in issue.message
    assert [i.file for i in braces.value.issues] == ["responses.yml"] and braces.value.issues[0].line is not None
    assert "there is no intent `gift_cards`" in str(unknown.value)
    assert files(kb) == before
    load_kb(kb)  # the KB still loads


def test_a_kb_with_problems_is_refused_as_it_is(kb: Path) -> None:
    path = kb / "intents.yml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("  - name: goodbye", "  - name: Goodbye"), encoding="utf-8"
    )

    with pytest.raises(KBValidationError, match="intent name 'Goodbye' is invalid"):
        add_out_of_scope(kb, ["tell me a joke"])


def test_edits_at_once_are_all_kept(kb: Path) -> None:
    texts = [f"where has parcel number {n} gone" for n in range(4)]

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda t: add_examples(kb, "order_status", [t]), texts))

    assert set(texts) <= set(load_kb(kb).intent("order_status").examples)


def test_a_customer_message_becomes_one_plain_line() -> None:
    assert example_text("  see [this]\n  order ") == "see (this) order"
