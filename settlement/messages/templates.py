"""Message texts in Chinese, with English beside them: the amount as ``¥12.30``, the deadline in
local time, a link.

The Chinese text is what an SMS carries; the English one is kept with it (``body_en``) for the
app's message list in English. Links are absolute (``SHUXIN_PUBLIC_BASE_URL`` + ``/app/...``):
an SMS has no page to be relative to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from insurance.money import format_amount

SIGNATURE = "【舒心就医】"
SIGNATURE_EN = "[Shuxin Care] "
#: Stands in for a login code in the stored text; the dispatcher puts the code in when it sends.
CODE_MASK = "******"

#: Templates by name. ``{who}`` is 您 for the patient and 您的亲属{name} for a family manager.
TEMPLATES: dict[str, str] = {
    "remind_close": (
        "{who}的就诊已结束，本次信用就医账单金额¥{amount}，请于{deadline}前还款，"
        "逾期将冻结信用就医额度。查看并支付：{link}"
    ),
    "remind_before": (
        "{who}的信用就医账单¥{amount}将于{deadline}到期（约剩{hours}小时），请及时还款。"
        "查看并支付：{link}"
    ),
    "remind_covered": (
        "{who}的信用就医账单¥{amount}由医保账户全额支付，自付¥0.00，无需从钱包付款。"
        "医保结算暂未完成，系统正在自动重试；也可在{deadline}前自行结清（支付¥0.00）：{link}"
    ),
    "overdue": (
        "{who}的信用就医账单¥{amount}已于{deadline}逾期未还，信用就医额度已冻结，"
        "还款后可恢复使用。立即还款：{link}"
    ),
    "escalated": (
        "{who}的信用就医账单¥{amount}自{deadline}起逾期已超过{days}天，已按协议报送信用平台。"
        "立即还款：{link}"
    ),
    "payment_received": "{who}的信用就医账单¥{amount}已结清：{sources}。查看账单：{link}",
    "autopay_taken": (
        "{who}的信用就医账单¥{amount}已通过自动扣款结清：{sources}。查看账单：{link}"
    ),
    "settled_by_insurance": (
        "{who}的信用就医账单¥{amount}已由医保账户自动结清，无需自付：{sources}。查看账单：{link}"
    ),
    "autopay_failed": (
        "{who}的信用就医账单¥{amount}自动扣款未成功，请于{deadline}前手动还款，"
        "以免逾期冻结额度。立即还款：{link}"
    ),
    "refund_returned": "{who}的信用就医账单退费¥{refunded}已原路退回：{sources}。查看账单：{link}",
    "line_raised": "{who}的信用就医额度已由¥{before}提升至¥{after}。查看：{link}",
    "line_unfrozen": "{who}的信用就医额度已解冻，现为¥{after}。查看：{link}",
    "login_code": "您的登录验证码为{code}，{minutes}分钟内有效，请勿告诉他人。",
}

#: The same in English. ``{whose}`` is "Your" for the patient and "Your relative 张三's" for a
#: family manager.
TEMPLATES_EN: dict[str, str] = {
    "remind_close": (
        "{whose} visit has ended: the credit care bill is ¥{amount}. Please pay by {deadline}; "
        "an overdue bill freezes the credit line. View and pay: {link}"
    ),
    "remind_before": (
        "{whose} credit care bill of ¥{amount} is due by {deadline} (about {hours} h left). "
        "View and pay: {link}"
    ),
    "remind_covered": (
        "{whose} credit care bill of ¥{amount} is covered in full by the insurance accounts: "
        "¥0.00 to pay from the wallet. The insurance settlement has not gone through yet and is "
        "being retried; it can also be settled by {deadline}, paying ¥0.00: {link}"
    ),
    "overdue": (
        "{whose} credit care bill of ¥{amount} was due by {deadline} and is overdue: the credit "
        "line is frozen until it is paid. Pay now: {link}"
    ),
    "escalated": (
        "{whose} credit care bill of ¥{amount} has been overdue since {deadline} for more than "
        "{days} days and was reported to the credit platform. Pay now: {link}"
    ),
    "payment_received": "{whose} credit care bill of ¥{amount} is paid: {sources}. View: {link}",
    "autopay_taken": (
        "{whose} credit care bill of ¥{amount} was paid by automatic withholding: {sources}. "
        "View: {link}"
    ),
    "settled_by_insurance": (
        "{whose} credit care bill of ¥{amount} was settled from the insurance accounts; there "
        "is nothing to pay: {sources}. View: {link}"
    ),
    "autopay_failed": (
        "Automatic withholding of {whose_lower} credit care bill of ¥{amount} did not go "
        "through. Please pay by {deadline} so that it does not become overdue. Pay now: {link}"
    ),
    "refund_returned": (
        "A refund of ¥{refunded} on {whose_lower} credit care bill went back where it came "
        "from: {sources}. View: {link}"
    ),
    "line_raised": "{whose} credit line was raised from ¥{before} to ¥{after}. View: {link}",
    "line_unfrozen": "{whose} credit line is unfrozen, now ¥{after}. View: {link}",
}

#: Where money came from or went back to, by the ``setlinfo`` part: (Chinese, English).
SOURCE_NAMES: dict[str, tuple[str, str]] = {
    "hifp_pay": ("医保统筹基金", "pooled fund"),
    "acct_own_pay": ("个人账户", "personal account"),
    "acct_mulaid_pay": ("亲属共济账户", "relative's account (mutual aid)"),
    "wechat": ("微信支付", "WeChat Pay"),
    "alipay": ("支付宝", "Alipay"),
    "wallet": ("自付", "own funds"),
}


@dataclass(frozen=True, slots=True)
class Rendered:
    template: str
    body: str
    link: str | None
    #: The same message in English (``None`` for a login code: it goes by SMS only).
    body_en: str | None = None


def bill_link(bill_id: str, base_url: str = "") -> str:
    """The bill's page: absolute when ``base_url`` (``SHUXIN_PUBLIC_BASE_URL``) is given."""
    return f"{base_url.rstrip('/')}/app/bills/{bill_id}"


def home_link(base_url: str = "") -> str:
    return f"{base_url.rstrip('/')}/app/"


def local_time(moment: datetime, timezone: str) -> str:
    """``2026年11月26日 09:30`` in the patients' time zone."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y年%m月%d日 %H:%M")


def local_time_en(moment: datetime, timezone: str) -> str:
    """``2026-11-26 09:30`` in the patients' time zone."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def sources_text(amounts: Mapping[str, Decimal]) -> tuple[str, str]:
    """``医保统筹基金¥50.00、个人账户¥100.00`` and its English, for the non-zero parts, in order;
    ``amounts`` are keyed by :data:`SOURCE_NAMES`."""
    parts = [
        (SOURCE_NAMES[key], format_amount(amount)) for key, amount in amounts.items() if amount
    ]
    zh = "、".join(f"{names[0]}¥{amount}" for names, amount in parts)
    en = ", ".join(f"{names[1]} ¥{amount}" for names, amount in parts)
    return zh or "¥0.00", en or "¥0.00"


def render_notice(
    template: str,
    *,
    link: str,
    relative_name: str | None = None,
    values: Mapping[str, object] | None = None,
    values_en: Mapping[str, object] | None = None,
) -> Rendered:
    """Render ``template`` in Chinese and English; ``relative_name`` set means the recipient is
    a family manager hearing about that relative. ``values_en`` overrides ``values`` in English."""
    given = dict(values or {})
    who = "您" if relative_name is None else f"您的亲属{relative_name}"
    whose = "Your" if relative_name is None else f"Your relative {relative_name}'s"
    whose_lower = "your" if relative_name is None else f"your relative {relative_name}'s"
    body = TEMPLATES[template].format(who=who, link=link, **given)
    english = {**given, **(values_en or {})}
    body_en = TEMPLATES_EN[template].format(
        whose=whose, whose_lower=whose_lower, link=link, **english
    )
    return Rendered(
        template=template, body=SIGNATURE + body, link=link, body_en=SIGNATURE_EN + body_en
    )


def render_bill_notice(
    template: str,
    *,
    bill_id: str,
    amount: Decimal,
    due_at: datetime,
    timezone: str,
    relative_name: str | None = None,
    base_url: str = "",
    **extra: object,
) -> Rendered:
    """Render a bill notice; ``relative_name`` set means the recipient is a family manager."""
    return render_notice(
        template,
        link=bill_link(bill_id, base_url),
        relative_name=relative_name,
        values={"amount": format_amount(amount), "deadline": local_time(due_at, timezone), **extra},
        values_en={"deadline": local_time_en(due_at, timezone)},
    )


def render_login_code(code: str, expires_in: int) -> Rendered:
    minutes = max(1, expires_in // 60)
    body = TEMPLATES["login_code"].format(code=code, minutes=minutes)
    return Rendered(template="login_code", body=SIGNATURE + body, link=None)
