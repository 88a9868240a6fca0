"""Message texts in Chinese: the amount as ``¥12.30``, the deadline in local time, a link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from insurance.money import format_amount

SIGNATURE = "【舒心就医】"
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
    "overdue": (
        "{who}的信用就医账单¥{amount}已于{deadline}逾期未还，信用就医额度已冻结，"
        "还款后可恢复使用。立即还款：{link}"
    ),
    "escalated": (
        "{who}的信用就医账单¥{amount}自{deadline}起逾期已超过{days}天，已按协议报送信用平台。"
        "立即还款：{link}"
    ),
    "login_code": "您的登录验证码为{code}，{minutes}分钟内有效，请勿告诉他人。",
}


@dataclass(frozen=True, slots=True)
class Rendered:
    template: str
    body: str
    link: str | None


def bill_link(bill_id: str) -> str:
    return f"/app/bills/{bill_id}"


def local_time(moment: datetime, timezone: str) -> str:
    """``2026年11月26日 09:30`` in the patients' time zone."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y年%m月%d日 %H:%M")


def render_bill_notice(
    template: str,
    *,
    bill_id: str,
    amount: Decimal,
    due_at: datetime,
    timezone: str,
    relative_name: str | None = None,
    **extra: object,
) -> Rendered:
    """Render a bill notice; ``relative_name`` set means the recipient is a family manager."""
    link = bill_link(bill_id)
    who = "您" if relative_name is None else f"您的亲属{relative_name}"
    text = TEMPLATES[template].format(
        who=who,
        amount=format_amount(amount),
        deadline=local_time(due_at, timezone),
        link=link,
        **extra,
    )
    return Rendered(template=template, body=SIGNATURE + text, link=link)


def render_login_code(code: str, expires_in: int) -> Rendered:
    minutes = max(1, expires_in // 60)
    body = TEMPLATES["login_code"].format(code=code, minutes=minutes)
    return Rendered(template="login_code", body=SIGNATURE + body, link=None)
