"""Custom actions of the Chinese Pinecone Outfitters demo KB (``kb/demo-zh``): 松果户外的自定义动作.

The same actions as the English demo (:mod:`kb.demo.actions`), with the same ``name()`` values and
behaviour; only what the customer sees is in Chinese. The data and logic come from the English
module: the orders table (``kb/demo/orders.csv``, of which ``kb/demo-zh/orders.csv`` is a copy),
the order's delivery day counted in working days, and ticket storage in Deskmate's database.

Every action this KB uses is *defined* here, since Deskmate serves only the actions whose class
belongs to the action package itself. The folder name has a hyphen, so the package is loaded by
file path, not imported as ``kb.demo-zh.actions``::

    spec = importlib.util.spec_from_file_location(
        "deskmate_kb_actions_demo_zh", "kb/demo-zh/actions/__init__.py",
        submodule_search_locations=["kb/demo-zh/actions"])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    runner = InProcessActionRunner("deskmate_kb_actions_demo_zh")

Beyond the texts (dates read ``12月10日（周四）``, item names are translated), one difference: an
order number is also found glued to Chinese text ("我的单号pc483920") or typed in full-width
characters, where the English module's ``\\b`` sees no word boundary (a Chinese character is a
word character to ``re``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from kb.demo import actions as en
from kb.demo.actions import Events, Order, load_orders

logger = logging.getLogger(__name__)

# "PC-123456", "pc 123456", "PC123456", also glued to Chinese ("单号PC483920到了吗"); full-width
# characters typed with a Chinese input method ("ＰＣ－４８３９２０") are folded to ASCII first
ORDER_ID = re.compile(r"(?<![A-Za-z0-9])PC[-\s]?(\d{6})(?!\d)", re.IGNORECASE)
ASK_ORDER_ID = "好的，我帮你查。订单号是多少？格式像 PC-123456，在下单确认邮件里能找到。"
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
STATUS_NAMES = {
    "processing": "处理中",
    "dispatched": "已发货",
    "in_transit": "运输中",
    "out_for_delivery": "派送中",
    "delivered": "已签收",
    "delayed": "延误",
    "cancelled": "已取消",
    "returned": "已退货",
}
# the orders table's item names, as a Chinese customer reads them (product names stay in English)
ITEM_NAMES = {
    "Ridgeline 2-person tent": "Ridgeline 双人帐篷",
    "Summit waterproof jacket (M)": "Summit 冲锋衣（M码）",
    "Trailhead 45 L backpack": "Trailhead 45升背包",
    "Granite leather hiking boots (UK 9)": "Granite 真皮登山鞋（英码9）",
    "Merino base layer set": "美利奴羊毛保暖内衣套装",
    "hiking socks x3": "徒步袜 ×3",
    "Alpine down sleeping bag": "Alpine 羽绒睡袋",
    "Trekking poles (pair)": "登山杖（一对）",
    "Fleece midlayer (L)": "抓绒中间层（L码）",
    "Camping stove and gas canister": "露营炉头和气罐",
    "Ridgeline 3-person tent": "Ridgeline 三人帐篷",
    "groundsheet": "地布",
    "Waterproof overtrousers (S)": "防水罩裤（S码）",
    "Head torch": "头灯",
    "first-aid kit": "急救包",
    "Insulated water bottle x2": "保温水壶 ×2",
    "Approach shoes (EU 42)": "接近鞋（欧码42）",
    "Lightweight tarp and guy lines": "轻量天幕和防风绳",
}

clock: Callable[[], date] = date.today  # today's date, read when an action runs; tests set a fixed day


def normalize_order_id(raw: str) -> str | None:
    """``PC-123456`` from ``pc 123456``, ``PC123456`` or a sentence containing one, Chinese included; else ``None``."""
    match = ORDER_ID.search(unicodedata.normalize("NFKC", raw))
    return f"PC-{match.group(1)}" if match else None


def items_zh(items: str) -> str:
    """The order's items in Chinese: ``Ridgeline 双人帐篷``; an item without a translation as written."""
    return "、".join(ITEM_NAMES.get(item.strip(), item.strip()) for item in items.split(";"))


def day_zh(day: date, *, today: date) -> str:
    """``12月10日（周四）``; with the year when it is not this year's: ``2027年1月4日（周一）``."""
    year = f"{day.year}年" if day.year != today.year else ""
    return f"{year}{day.month}月{day.day}日（{WEEKDAYS[day.weekday()]}）"


def describe(order: Order, *, today: date) -> str:
    """One customer-facing sentence or two about where the order is, its dates seen from ``today``."""
    day = order.delivery_date(today)
    when = day_zh(day, today=today) if day else None
    expected = f"预计{when}送达" if when else "送达日期确定后我们会发邮件告诉你"
    by = f"预计{when}前送到" if when else expected
    delivered = f"已于{when}签收" if when else "已签收"
    new_date = f"新的预计送达日期是{when}" if when else expected
    via = f"，由 {order.carrier} 配送" if order.carrier else ""
    tracking = f"（运单号 {order.tracking_number}）" if order.tracking_number else ""
    oid = order.order_id
    texts = {
        "processing": f"订单 {oid}（{items_zh(order.items)}）正在仓库打包，{by}。发货后我们会把物流单号发到你的邮箱。",
        "dispatched": f"订单 {oid} 已经从仓库发出{via}{tracking}，{expected}。",
        "in_transit": f"订单 {oid} 正在运输途中{via}{tracking}，{expected}。",
        "out_for_delivery": f"好消息：订单 {oid} 正在派送中{via}，{expected}。",
        "delivered": f"订单 {oid} {delivered}{via}。如果没找到包裹，告诉我一声，我帮你给团队开个工单。",
        "delayed": f"抱歉，订单 {oid} 延误了{via}{tracking}。{new_date}。",
        "cancelled": f"订单 {oid} 已经取消，不会再发货。已付的款项会在5个工作日内原路退回。",
        "returned": f"订单 {oid} 的退货我们已经收到，退款正在路上，一般5个工作日内到账。",
    }
    return texts.get(order.status, f"订单 {oid} 的状态是「{status_zh(order.status)}」。")


def status_zh(status: str) -> str:
    """``派送中`` for ``out_for_delivery``; an unknown status as written, without underscores."""
    return STATUS_NAMES.get(status, status.replace("_", " "))


def not_found(order_id: str) -> str:
    return f"没有找到订单号为 {order_id} 的订单，麻烦核对一下？订单号格式像 PC-123456，在下单确认邮件里能找到。"


class ActionOrderStatus(Action):  # type: ignore[misc]
    def name(self) -> str:
        return "action_order_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        raw = tracker.get_slot("order_id") or next(tracker.get_latest_entity_values("order_id"), None)
        if not raw:
            raw = normalize_order_id(str(tracker.latest_message.get("text") or ""))
        if not raw:
            dispatcher.utter_message(text=ASK_ORDER_ID)
            return []
        order_id = normalize_order_id(str(raw)) or str(raw).strip()
        order = load_orders().get(order_id)
        if order is None:
            dispatcher.utter_message(text=not_found(order_id))
            return [SlotSet("order_id", None), SlotSet("order_status", None)]
        today = clock()
        dispatcher.utter_message(text=describe(order, today=today))
        expected = order.delivery_date(today)
        return [
            SlotSet("order_id", order.order_id),
            SlotSet("order_status", order.status),
            SlotSet("order_carrier", order.carrier or None),
            SlotSet("order_expected_date", expected.isoformat() if expected else None),
        ]


class ActionOpenTicket(Action):  # type: ignore[misc]
    def name(self) -> str:
        return "action_open_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        email = tracker.get_slot("email")
        description = tracker.get_slot("description")
        number = await asyncio.to_thread(
            en.store_ticket,
            en.database_path(),
            conversation_id=tracker.sender_id,
            message=str(description) if description else en._last_customer_text(tracker),
            intent="open_ticket" if description else intent,
            order_id=tracker.get_slot("order_id"),
            email=str(email) if email else None,
            topic=tracker.get_slot("topic"),
        )
        logger.info("conversation %s: opened ticket %s", tracker.sender_id, number)
        where = f"发邮件到 {email} " if email else "通过邮件"
        dispatcher.utter_message(
            text=f"已经帮你开了工单 {number}。客服团队会在1个工作日内{where}回复你；"
            f"之后再联系我们时，请提供工单号 {number}。"
        )
        return [SlotSet("ticket_id", number)]


class ValidateOrderLookup(FormValidationAction):  # type: ignore[misc]
    """The ``order_lookup`` form's checks: the order number is read loosely and must exist."""

    def name(self) -> str:
        return "validate_order_lookup"

    async def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """An order number written loosely ("pc 483920", "单号pc483920"), when the form asks for one."""
        if tracker.get_slot("requested_slot") != "order_id" or tracker.get_slot("order_id"):
            return {}
        found = normalize_order_id(str(tracker.latest_message.get("text") or ""))
        return {"order_id": found} if found else {}

    async def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        order = _known_order(value, dispatcher)
        return {"order_id": order.order_id if order else None}


class ValidateReturnRequest(ValidateOrderLookup):
    """The ``return_request`` form's checks: as an order lookup, and the order must have arrived."""

    def name(self) -> str:
        return "validate_return_request"

    async def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        order = _known_order(value, dispatcher)
        if order is None:
            return {"order_id": None}
        if order.status != "delivered":
            dispatcher.utter_message(
                text=f"订单 {order.order_id} 还没有签收（现在是「{status_zh(order.status)}」），所以暂时不能退货。"
                "如果是不想要了，也许还来得及取消。有没有别的订单要退？"
            )
            return {"order_id": None}
        return {"order_id": order.order_id}


class ActionRequestReturn(Action):  # type: ignore[misc]
    """Logs the ``return_request`` form's return as a ticket, and says what happens next."""

    def name(self) -> str:
        return "action_request_return"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        order_id = str(tracker.get_slot("order_id") or "")
        reason = str(tracker.get_slot("return_reason") or "not given")
        number = await asyncio.to_thread(
            en.store_ticket,
            en.database_path(),
            conversation_id=tracker.sender_id,
            # for the team, as the English demo writes it: the reason is the button's English value
            message=f"Return request for {order_id}; reason: {reason}",
            intent="start_return",
            order_id=order_id or None,
            topic="return",
        )
        logger.info("conversation %s: logged return request %s", tracker.sender_id, number)
        dispatcher.utter_message(
            text=f"订单 {order_id} 的退货已经登记好了，编号 {number}。我们的团队会在1个工作日内把免费的预付退货面单"
            "发到订单上的邮箱；商品请保持未使用、吊牌完好，打包后拿到任意一家邮局（Post Office）寄出就行。"
        )
        return [SlotSet("ticket_id", number)]


class ActionTalkToHuman(en.ActionTalkToHuman):
    """Pauses the conversation: Deskmate hands it to an agent and says kb.yml's handoff message (no text here)."""

    def name(self) -> str:
        return "action_talk_to_human"


def _known_order(value: Any, dispatcher: CollectingDispatcher) -> Order | None:
    """The order ``value`` names, or None after telling the customer it wasn't found."""
    order_id = normalize_order_id(str(value or "")) or str(value or "").strip()
    order = load_orders().get(order_id)
    if order is None:
        dispatcher.utter_message(text=f"没有找到订单号为 {order_id} 的订单，麻烦核对一下？下单确认邮件里有订单号。")
    return order
