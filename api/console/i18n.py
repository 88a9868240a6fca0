"""The console's words in Chinese (the default) and English, as the patients' page does it
(``api.web.i18n``): a key, a pair, one lookup."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from api.web.i18n import pick_language

__all__ = ["STRINGS", "grouped", "pick_language", "translate"]

STRINGS: dict[str, tuple[str, str]] = {
    "console": ("运营控制台", "Operator console"),
    "app_name": ("舒心就医", "Shuxin Care"),
    "skip": ("跳到正文", "Skip to content"),
    "lang_switch": ("English", "中文"),
    "logout": ("退出登录", "Log out"),
    # login
    "login_title": ("管理员登录", "Administrator login"),
    "admin_token": ("管理员令牌", "Administrator token"),
    "admin_token_hint": ("部署时配置的 SHUXIN_ADMIN_TOKEN", "The deployment's SHUXIN_ADMIN_TOKEN"),
    "login": ("登录", "Log in"),
    "login_failed": ("令牌不正确。", "That token is not right."),
    "login_limited": (
        "登录尝试过多，请 {seconds} 秒后再试。",
        "Too many login attempts: try again in {seconds} s.",
    ),
    # navigation
    "nav_overview": ("概览", "Overview"),
    "policy_mode": (
        "医保政策 {region} {version}：{mode}",
        "Insurance policy {region} {version}: {mode}",
    ),
    "mode_repayment": (
        "还款时结算（统筹基金、个人账户、钱包均在还款时支付）",
        "settled at repayment (fund, account and wallet all pay when the patient repays)",
    ),
    "mode_visit_end": (
        "就诊结束时结算统筹基金，信用额度只承担个人负担部分",
        "the pooled fund settles when the visit ends; credit carries only the personal part",
    ),
    "nav_overdue": ("逾期账单", "Overdue bills"),
    "nav_differences": ("对账差异", "Differences"),
    "nav_deliveries": ("发送失败", "Failed deliveries"),
    "nav_autopay": ("自动扣款失败", "Auto-pay failures"),
    "nav_sweeps": ("调度失败", "Sweep failures"),
    "nav_hospitals": ("医院与密钥", "Hospitals"),
    "nav_catalogue": ("收费目录", "Catalogue"),
    "ops_links": ("运行状态", "Operations"),
    "health": ("健康检查", "Health"),
    "metrics": ("监控指标", "Metrics"),
    # the overview's filter
    "day": ("日期", "Day"),
    "trend_days": ("趋势", "Trend"),
    "days_n": ("{n} 天", "{n} days"),
    "hospital": ("医院", "Hospital"),
    "all_hospitals": ("全部医院", "All hospitals"),
    "show": ("查看", "Show"),
    # figures
    "the_day": ("{day} 当日", "On {day}"),
    "scheme": ("全市", "The scheme"),
    "signed_patients_total": ("签约患者", "Patients signed"),
    "signed_patients_day": ("当日新签约", "Signed that day"),
    "active_lines": ("有效授信人数", "Active credit lines"),
    "credit_granted": ("授信总额", "Credit granted"),
    "credit_in_use": ("在用额度", "Credit in use"),
    "visits_opened": ("就诊人次", "Visits"),
    "patients_seen": ("就诊人数", "Patients seen"),
    "bills_closed": ("结账单", "Bills closed"),
    "settlements": ("结算", "Settlements"),
    "net": ("结算净额（扣除退费）", "Settled, net of refunds"),
    "fund_pay_sumamt": ("统筹基金", "Pooled fund"),
    "acct_pay": ("个人账户", "Personal account"),
    "acct_mulaid_pay": ("其中家庭共济", "of which mutual aid"),
    "psn_cash_pay": ("微信/支付宝", "Wallet"),
    "refunds": ("退费", "Refunds"),
    "paid_back": ("退回各方", "Paid back"),
    "outstanding": ("待还", "Outstanding"),
    "overdue": ("逾期", "Overdue"),
    "overdue_rate": ("逾期率", "Overdue rate"),
    "overdue_rate_hint": (
        "当日到期账单中逾期的比例",
        "Of the bills due that day, the share that went overdue",
    ),
    "bills_due": ("当日到期", "Due that day"),
    "went_overdue": ("其中逾期", "of which overdue"),
    "count": ("笔数", "Count"),
    "amount": ("金额", "Amount"),
    "count_amount": ("{count} 笔 · {amount}", "{count} · {amount}"),
    "per_hospital": ("各医院", "Per hospital"),
    "totals": ("合计", "Total"),
    "code": ("编码", "Code"),
    "name": ("名称", "Name"),
    # trends
    "trends": ("近 {n} 天趋势", "The last {n} days"),
    "chart_payers": ("按支付方的结算净额（元）", "Settled net of refunds, by payer (yuan)"),
    "chart_activity": ("就诊人次与结账单", "Visits and bills closed"),
    "chart_balances": ("日终待还与逾期（元）", "Outstanding and overdue at day end (yuan)"),
    "chart_credit": ("授信与在用额度（元）", "Credit granted and in use (yuan)"),
    "chart_rate": ("逾期率", "Overdue rate"),
    "acct_own": ("个人账户（本人）", "Personal account (own)"),
    "download_csv": ("下载 CSV", "Download CSV"),
    "no_data": ("暂无数据", "No data yet"),
    "date": ("日期", "Date"),
    "no_rate": ("—", "—"),
    # lists
    "search": ("搜索", "Search"),
    "search_hint": ("编号、医保编号或名称", "An id, psn_no or name"),
    "no_rows": ("没有记录。", "Nothing here."),
    "page_of": ("第 {page} / {pages} 页，共 {total} 条", "Page {page} of {pages}, {total} in all"),
    "previous": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "bucket": ("逾期天数", "Days overdue"),
    "all_buckets": ("全部", "All"),
    "days_bucket": ("{name} 天", "{name} days"),
    "bill_id": ("账单号", "Bill"),
    "psn_no": ("医保编号", "psn_no"),
    "status": ("状态", "Status"),
    "owed": ("欠款", "Owed"),
    "due_at": ("到期时间", "Due"),
    "days_overdue": ("逾期第几天", "Day overdue"),
    "escalated": ("已报送征信", "Reported"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "differences_title": ("未平的对账日", "Days that do not reconcile"),
    "differences_intro": (
        "近 {n} 天中，业务记录与账本不一致的医院日。",
        "Hospital days in the last {n} days whose records and ledger disagree.",
    ),
    "mismatches": ("差异", "Differences"),
    "callbacks_title": ("被拒绝的钱包回调", "Wallet callbacks refused"),
    "provider": ("渠道", "Provider"),
    "order_id": ("订单号", "Order"),
    "outcome": ("结果", "Outcome"),
    "detail": ("说明", "Detail"),
    "received_at": ("收到时间", "Received"),
    "kind": ("类型", "Kind"),
    "channel": ("通道", "Channel"),
    "attempts": ("尝试次数", "Attempts"),
    "last_error": ("最后错误", "Last error"),
    "created_at": ("创建时间", "Created"),
    "stage": ("环节", "Stage"),
    "stage_not_started": ("未能发起", "Not started"),
    "stage_declined": ("钱包拒绝", "Declined by the wallet"),
    "at": ("时间", "When"),
    "sweep": ("调度任务", "Sweep"),
    "item_id": ("对象编号", "Item"),
    "error_class": ("错误类型", "Error"),
    "sweeps_intro": (
        "调度任务处理某一条记录失败时跳过它、记录于此并继续处理其余记录；下一轮会重试，每次失败记录一次。",
        "When a sweep fails on one item it skips it, records it here and goes on with the rest; "
        "the next run tries it again, and each failed attempt is recorded.",
    ),
    "level": ("等级", "Level"),
    "secret_version": ("密钥版本", "Secret version"),
    "rotated_at": ("上次轮换", "Last rotated"),
    "rotate": ("轮换密钥", "Rotate the secret"),
    "rotate_confirm": (
        "轮换后旧密钥立即失效，HIS 需改用新密钥。",
        "The old secret stops working at once; the HIS must use the new one.",
    ),
    "secret_title": ("{code} 的新签名密钥", "The new signing secret of {code}"),
    "secret_once": (
        "密钥只显示这一次，请立即复制到 HIS 的配置中。",
        "The secret is shown this once: copy it into the HIS's settings now.",
    ),
    "back": ("返回", "Back"),
    "item_name": ("项目名称", "Item"),
    "chrgitm_lv": ("类别", "Class"),
    "selfpay_prop": ("先行自付比例", "Self-pay share"),
    "pric_uplmt_amt": ("限价", "Price cap"),
    "category": ("分类", "Category"),
    "updated_at": ("更新时间", "Updated"),
    "edit": ("编辑", "Edit"),
    "save": ("保存", "Save"),
    "saved": ("已保存。", "Saved."),
    "edit_item": ("编辑目录项目 {code}", "Edit catalogue item {code}"),
    # errors
    "error_title": ("出错了", "Something went wrong"),
    "not_found": ("没有找到。", "Not found."),
    "csrf_failed": ("页面已过期，请返回后重试。", "This page expired; go back and try again."),
    "bad_request": ("请检查填写的内容：{message}", "Please check what you entered: {message}"),
}


def translate(lang: str, key: str, **values: object) -> str:
    """The string ``key`` in ``lang`` with ``values`` filled in; an unknown key shows itself."""
    pair = STRINGS.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "en" else pair[0]
    return text.format(**values) if values else text


def grouped(amount: object) -> str:
    """``"1234567.80"`` → ``¥1,234,567.80``: the API's exact string, with thousands grouped."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    return f"¥{value:,.2f}"
