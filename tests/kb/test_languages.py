"""Languages in a KB: words without spaces, word edges at ideographs, texts in several languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.errors import KBValidationError
from kb.entities import compile_lookup, compile_pattern
from kb.languages.localized import in_language
from kb.languages.segmentation import has_ideographs, words
from kb.loader import load_kb
from training.lexical_head import lexical_words


def test_english_words_are_what_they_always_were() -> None:
    assert words("Where is my order PC-483920?") == ["where", "is", "my", "order", "pc", "483920"]
    assert lexical_words("I don't have it") == ["don", "have", "it"]  # scikit-learn's two-letter minimum


def test_chinese_is_cut_into_words() -> None:
    tokens = words("我想退货，订单PC-483920")
    assert "退货" in tokens and "订单" in tokens and "pc" in tokens and "483920" in tokens
    assert "退" in lexical_words("我想退")  # a one-character Chinese word carries meaning: kept
    assert has_ideographs("订单") and not has_ideographs("order")


def test_an_ideograph_is_a_word_edge_for_patterns_and_lookups() -> None:
    order = compile_pattern(r"PC-\d{6}")
    assert [m.group() for m in order.finditer("订单PC-483920到哪了")] == ["PC-483920"]
    assert order.search("xPC-483920") is None and order.search("PC-4839201") is None
    products = compile_lookup(["帐篷", "boots"])
    assert [m.group() for m in products.finditer("我的帐篷坏了, and my boots")] == ["帐篷", "boots"]
    assert products.search("reboots") is None


def write_kb(root: Path, *, languages: str = "languages: [en, zh]", greeting: str = "{en: Hi!, zh: 您好！}") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "kb.yml").write_text(f"name: Kettle Co\n{languages}\nsystem:\n  greeting: {greeting}\n", encoding="utf-8")
    (root / "intents.yml").write_text(
        "intents:\n"
        "  - name: leak\n    label: {en: Leaking kettle, zh: 水壶漏水}\n"
        "    examples: [my kettle leaks, water everywhere, it drips, leaking lid, the base is wet]\n"
        "  - name: hours\n    label: Opening hours\n"
        "    examples: [when are you open, opening hours, are you open sunday, what time do you close, hours]\n",
        encoding="utf-8",
    )
    (root / "responses.yml").write_text(
        "responses:\n"
        "  leak:\n"
        "    - text: {en: We will replace it., zh: 我们会给您换一个。}\n"
        "      buttons:\n        - {title: {en: Opening hours, zh: 营业时间}, intent: hours}\n"
        "    - Sorry about that.\n"
        "  hours:\n    - Open 9 to 5.\n",
        encoding="utf-8",
    )
    (root / "faq.yml").write_text(
        "faq:\n  - question: Do you ship abroad?\n    answer: {en: 'No, UK only.', zh: 不，只寄英国。}\n",
        encoding="utf-8",
    )
    (root / "dialogues.jsonl").write_text("", encoding="utf-8")
    return root


def test_a_kb_in_two_languages_reads_per_language_texts(tmp_path: Path) -> None:
    kb = load_kb(write_kb(tmp_path / "kb"))
    assert kb.languages == ("en", "zh") and kb.language == "en"
    assert kb.system["greeting"] == "Hi!" and kb.templates["leak"][0].text == "We will replace it."

    zh = in_language(kb, "zh")
    assert zh.language == "zh" and zh.system["greeting"] == "您好！"
    assert [t.text for t in zh.templates["leak"]] == ["我们会给您换一个。"] * 2  # the translated one stands in
    assert zh.templates["leak"][0].buttons[0].title == "营业时间"
    assert zh.templates["leak"][0].buttons[0].intent == "hours"
    assert zh.faq[0].answer == "不，只寄英国。"
    assert zh.intent("leak").label == "水壶漏水" and zh.intent("hours").label == "Opening hours"
    assert in_language(kb, "fr") is kb  # no texts in French: the default language's


def test_translations_change_the_build_hash(tmp_path: Path) -> None:
    one = load_kb(write_kb(tmp_path / "a"))
    other = load_kb(write_kb(tmp_path / "b", greeting="{en: Hi!, zh: 你好}"))
    assert one.content_hash() != other.content_hash()


@pytest.mark.parametrize(
    ("languages", "greeting", "problem"),
    [
        ("languages: [en, zh]", "{en: Hi!, fr: Salut}", "`fr`, which kb.yml does not list"),
        ("languages: [en, zh]", "{zh: 您好}", "no text in `en`"),
        ("language: en", "{en: Hi!, zh: 您好}", "`zh`, which kb.yml does not list"),
        ("languages: [en, 中文]", "Hi!", "list of language codes"),
        ("languages: [zh, en]\nlanguage: en", "Hi!", "list the default language first"),
    ],
)
def test_language_mistakes_are_reported_with_the_fix(
    tmp_path: Path, languages: str, greeting: str, problem: str
) -> None:
    with pytest.raises(KBValidationError, match=re.escape(problem)):
        load_kb(write_kb(tmp_path / "kb", languages=languages, greeting=greeting))


def test_a_chinese_kb_gets_chinese_defaults(tmp_path: Path) -> None:
    root = write_kb(tmp_path / "kb", languages="language: zh", greeting="您好！")
    (root / "responses.yml").write_text(
        "responses:\n  leak: [我们会给您换一个。]\n  hours: [九点到五点。]\n", encoding="utf-8"
    )
    (root / "intents.yml").write_text(
        (root / "intents.yml").read_text(encoding="utf-8").replace("{en: Leaking kettle, zh: 水壶漏水}", "水壶漏水"),
        encoding="utf-8",
    )
    (root / "faq.yml").write_text("faq: []\n", encoding="utf-8")
    kb = load_kb(root)
    assert kb.languages == ("zh",)
    assert kb.system["fallback"].startswith("抱歉") and kb.system["button_yes"] == "是"
