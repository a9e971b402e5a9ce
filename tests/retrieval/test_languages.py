"""Which language a customer writes, and the truth checks of Chinese past replies."""

from __future__ import annotations

import pytest

from retrieval.case_specific import is_case_specific
from retrieval.languages.chinese import case_reasons
from retrieval.languages.detect import LanguageDetector, base_language
from retrieval.persona import claims_to_be_person


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("我的订单在哪里？", "zh"),
        ("注文はどこですか", "ja"),
        ("¿Dónde está mi pedido? Lo compré hace una semana", "es"),
        ("Where is my order? I bought it a week ago", "en"),
        ("Wo ist meine Bestellung? Ich warte seit einer Woche", "de"),
        ("ok", None),  # too short to say: the conversation keeps its language
        ("PC-483920", None),
        ("?!", None),
    ],
)
def test_the_language_of_a_message(text: str, language: str | None) -> None:
    assert LanguageDetector().detect(text) == language


def test_browser_tags_give_their_language() -> None:
    assert [base_language(t) for t in ("zh-CN", "en_GB", "ES", None, "", "12")] == ["zh", "en", "es", None, None, None]


@pytest.mark.parametrize(
    "reply",
    [
        "{order_id} 还没拣货，已经帮您取消了。",
        "我已经帮您向快递公司发起追查。",
        "包裹现在在快递公司的区域转运中心。",
        "我这边只看到 {order_id} 有一笔成功的付款。",
        "已经把雪套从 {order_id} 里去掉了。",
    ],
)
def test_a_chinese_reply_about_one_customers_case_is_never_the_bots(reply: str) -> None:
    assert is_case_specific(reply), case_reasons(reply)


@pytest.mark.parametrize(
    "reply",
    [
        "如果还没拣货，可以在「账户 > 订单」里点「取消订单」。",
        "订单一般下单后2小时左右拣货，所以可能已经在打包了。",
        "英国标准配送£4.95，折后满£50包邮。",
        "方便告诉我订单号吗？",
    ],
)
def test_a_general_chinese_reply_may_be_sent(reply: str) -> None:
    assert not is_case_specific(reply), case_reasons(reply)


def test_a_chinese_agent_saying_who_they_are_is_a_person() -> None:
    assert claims_to_be_person("好的，我是松果户外客服小林，很高兴为您服务。")
    assert not claims_to_be_person("好的，我们的退货期是30天。")
