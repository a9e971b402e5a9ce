"""The truth checks of past replies, for replies written in Chinese.

retrieval/case_specific.py and retrieval/persona.py read English grammar; a Chinese agent's
"已经帮您取消了" (I've cancelled it for you) or "我是客服小林" (I'm Lin from the support team) passes
them untouched, and the bot would send it to another customer as its own words. These rules catch
the same claims in Chinese, clause by clause (a clause ends at any Chinese or ASCII punctuation):

* **action done for this customer**: 帮您/为您/给您 ... 了, 已(经)帮/为/给您, 我(们)(这边)已(经)...,
  我(们)(这边)(刚)(刚)(给/帮)...了, a clause opening on 已(经) ("已经帮您取消了", "我这边已经退款了",
  "我刚给您补发了", "已经备注您要补发");
* **this customer's case**: ``{order_id}`` (a de-identified order number) with a status word
  (已, 还没, 正在, 现在在, 目前) ("{order_id} 还没拣货", "{order_id} 已经出仓"); 您的 ... 已(经) ...;
  包裹/订单/退款... with 现在/已经... 在/到/出/发 ("包裹现在在转运中心");
* **lookup result**: 我(这边)看到/查到/查了/看了, 系统(里)显示, 物流(信息)显示, 没查到, 查不到;
* **follow-up promise**: 我(会|今天|明天|稍后|马上) ... 给您/帮您 ("我明天给您回电话");
* **a person speaking**: 我是 ... 客服/专员/同事, 我叫 ..., 我们的客服(同事)? ... 小X.

A clause with a condition (如果, 要是, 只要, 一旦, 的话), a question (吗) or a habit (一般, 通常) is
general, as in English: "如果还没拣货，可以取消" and "订单一般两小时内拣货" are policy, not reports.
"""

from __future__ import annotations

import re

_CLAUSE = re.compile(r"[，。！？；：,.!?;:\n（）()]+")
_HYPOTHETICAL = re.compile(r"如果|要是|只要|一旦|的话|假如|万一|若|吗|么|是否|一般|通常|大部分|正常情况")
_CASE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("action done", re.compile(r"(帮|为|给)您.{0,12}?了|已(经)?(帮|为|给)您|我们?(这边)?已(经)?.{1,12}")),
    ("action done", re.compile(r"^\s*已(经)?(把|将)?.{1,12}")),
    ("action done", re.compile(r"我们?(这边)?(刚刚?)(给|帮|为)?.{1,10}?了")),
    ("case status", re.compile(r"\{order_id\}.{0,12}?(已|还没|还未|尚未|正在|现在在|目前)|您的.{1,8}?已(经)?")),
    ("case status", re.compile(r"(包裹|订单|快递|退款|退货|货)(现在|目前|今天|昨天|已经|已)(在|到|出|发|处理|签收|送)")),
    ("case status", re.compile(r"(今天|刚才|刚刚|昨天|上周).{0,4}已(经)?|\{order_id\}.{0,6}?(只|没)")),
    ("lookup result", re.compile(r"我(这边|们)?(只|也|没)?(看到|查到|查了|看了|核实了)|^\s*查到了|系统(里)?显示|物流(信息)?显示|没查到|查不到|下没有.{0,6}订单")),
    ("follow-up promise", re.compile(r"我(们)?(会|今天|明天|稍后|马上|下午|晚点).{0,10}?(给|帮|为)您")),
    ("follow-up promise", re.compile(r"我们?(今天|明天|马上|现在)就?(用|给|帮|为|安排|寄|发|补发)")),
)
_PERSONA = re.compile(r"我是.{0,12}?(客服|专员|同事|店员|经理)|我叫.{1,6}|我们?的?客服(同事)?小.")


def case_reasons(reply: str) -> list[str]:
    """Why a Chinese reply is case-specific ("rule: words"); empty when it is general."""
    reasons: list[str] = []
    for clause in _CLAUSE.split(reply):
        if not clause.strip() or _HYPOTHETICAL.search(clause):
            continue
        for name, pattern in _CASE_RULES:
            match = pattern.search(clause)
            if match is not None:
                reasons.append(f"{name}: {match.group(0)}")
                break
    return reasons


def persona_phrase(text: str) -> str | None:
    """The words where a Chinese text has its writer say they are a person, or None."""
    match = _PERSONA.search(text)
    return match.group(0) if match is not None else None
