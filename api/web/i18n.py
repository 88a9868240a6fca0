# ruff: noqa: E501  (a table of sentences: one pair a line reads better than wrapped strings)
"""The page's words in Chinese (the default) and English, and how amounts and times are shown."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

#: Every string the pages show, by key: (Chinese, English).
STRINGS: dict[str, tuple[str, str]] = {
    "app_name": ("舒心就医", "Shuxin Care"),
    "tagline": ("先看病、后付费", "Treat first, pay later"),
    "skip": ("跳到正文", "Skip to content"),
    "nav_home": ("首页", "Home"),
    "nav_messages": ("消息", "Messages"),
    "nav_family": ("亲情账号", "Family"),
    "nav_agreement": ("服务协议", "Agreement"),
    "logout": ("退出登录", "Log out"),
    "lang_switch": ("English", "中文"),
    "large_on": ("大字模式", "Large text"),
    "large_off": ("标准字号", "Standard text"),
    "contrast_on": ("高对比度", "High contrast"),
    "contrast_off": ("标准配色", "Standard colours"),
    "settings": ("显示设置", "Display"),
    # login
    "login_title": ("短信验证码登录", "Log in with an SMS code"),
    "phone": ("手机号", "Mobile number"),
    "phone_hint": ("医保登记的11位手机号", "The 11-digit number on your insurance record"),
    "send_code": ("获取验证码", "Send me a code"),
    "code": ("验证码", "Code"),
    "code_hint": ("短信中的6位数字", "The 6 digits in the SMS"),
    "code_sent": (
        "验证码已发送至 {phone}，5分钟内有效。",
        "We sent a code to {phone}; it works for 5 minutes.",
    ),
    "sandbox_code": ("测试环境验证码：{code}", "Sandbox code: {code}"),
    "sandbox_note": (
        "测试环境：演示用户的手机号见 seeds/demo/insured_persons.csv。",
        "Sandbox: the demo users' phone numbers are in seeds/demo/insured_persons.csv.",
    ),
    "login": ("登录", "Log in"),
    "other_phone": ("换一个手机号", "Use another number"),
    # agreement
    "agreement_title": ("信用就医服务协议", "Credit care service agreement"),
    "agreement_version": ("第 {version} 版", "Version {version}"),
    "summary_en": ("英文摘要", "Summary in English"),
    "sign_title": ("签署协议", "Sign the agreement"),
    "psn_name": ("姓名", "Full name"),
    "certno": ("身份证号", "Resident ID number"),
    "certno_hint": ("18位，与医保登记一致", "18 characters, as on your insurance record"),
    "autopay": ("无感支付（自动扣款）", "Auto-pay (withholding)"),
    "autopay_off": ("不开通，我自己付款", "Off: I pay each bill myself"),
    "autopay_on_close": ("就诊结束时自动支付", "Pay automatically when the visit closes"),
    "autopay_before_deadline": ("截止前自动支付", "Pay automatically just before the deadline"),
    "accept": ("我已阅读并同意以上协议", "I have read and accept this agreement"),
    "sign": ("签署并查看我的额度", "Sign and see my credit"),
    "signed_ok": ("签约成功，您的信用额度为 {line}。", "Signed. Your credit line is {line}."),
    "must_sign": (
        "签署服务协议后即可先看病、后付费。",
        "Sign the agreement to be treated first and pay later.",
    ),
    "go_sign": ("阅读并签署协议", "Read and sign the agreement"),
    # credit
    "credit_title": ("我的信用", "My credit"),
    "credit_line": ("信用额度", "Credit line"),
    "available": ("可用额度", "Available"),
    "outstanding": ("待还金额", "To repay"),
    "on_hold": ("就诊中占用", "Held by open visits"),
    "reasons": ("额度说明", "Why this line"),
    "status_active": ("正常", "Active"),
    "status_frozen": ("已冻结（有逾期账单）", "Frozen (an overdue bill)"),
    "status_not_signed": ("未签约", "Not signed"),
    "status_not_eligible": ("暂不符合条件", "Not eligible"),
    "status_suspended": ("已暂停", "Suspended"),
    # bills
    "bills_title": ("我的账单", "My bills"),
    "no_bills": ("暂无账单。", "No bills yet."),
    "bill_title": ("账单详情", "Bill"),
    "amount_total": ("医疗费用合计", "Total medical fees"),
    "you_pay": ("需自付", "You pay"),
    "paid_title": ("已支付", "Paid"),
    "paid_wallet": ("自付（{wallet}）", "From your wallet ({wallet})"),
    "paid_account": ("医保个人账户", "Personal medical-insurance account"),
    "paid_by": ("支付人", "Paid by"),
    "paid_by_you": ("您本人", "You"),
    "paid_by_family": ("您的亲属", "A relative"),
    "paid_at": ("支付时间", "Paid at"),
    "paid_how": ("支付方式", "How"),
    "channel_app": ("在线支付", "Paid online"),
    "channel_autopay": ("自动扣款", "Automatic withholding"),
    "channel_resettle": ("退费后重新结算", "Settled again after a refund"),
    "channel_insurance": ("医保账户自动结清", "Settled from the insurance accounts"),
    "due_at": ("请于 {time} 前支付", "Pay by {time}"),
    "time_left": ("剩余", "Left"),
    "overdue": ("已逾期", "Overdue"),
    "overdue_text": (
        "已逾期，请尽快支付。逾期会冻结信用额度。",
        "Overdue: please pay now. An overdue bill freezes your credit.",
    ),
    "deadline_passed": ("已过支付期限", "The deadline has passed"),
    "bill_billed": ("待支付", "To pay"),
    "bill_paying": ("支付处理中", "Payment pending"),
    "bill_settled": ("已结清", "Settled"),
    "bill_overdue": ("已逾期", "Overdue"),
    "bill_paying_late": ("逾期支付处理中", "Late payment pending"),
    "bill_settled_late": ("已结清（逾期）", "Settled (late)"),
    "bill_refunded": ("已退费", "Refunded"),
    "view_bill": ("查看并支付", "View and pay"),
    "view": ("查看", "View"),
    "visit": ("就诊", "Visit"),
    "dept": ("科室", "Department"),
    "doctor": ("医生", "Doctor"),
    "lines": ("费用明细", "Fee lines"),
    "item": ("项目", "Item"),
    "qty": ("数量", "Qty"),
    "line_amount": ("金额", "Amount"),
    "class_A": ("甲类", "Class A"),
    "class_B": ("乙类", "Class B"),
    "class_C": ("丙类（自费）", "Class C (self-pay)"),
    "refunded_line": ("已退", "refunded"),
    "split_title": ("费用分担", "Who pays what"),
    "split_estimate": ("预估（以结算为准）", "Estimate (final at settlement)"),
    "split_final": ("结算结果", "Settled amounts"),
    "split_now": (
        "现在支付将按此扣款，一分不差",
        "Paying now takes exactly this, to the fen",
    ),
    "pooled_fund": ("统筹基金支付", "Pooled fund"),
    "fund_at_close": (
        "统筹基金¥{amount}已在就诊结束时结算；信用额度只承担个人负担部分¥{owed}",
        "The pooled fund's ¥{amount} was settled when the visit ended; your credit carries only "
        "your own part, ¥{owed}",
    ),
    "personal_account": ("个人账户支付", "Personal account"),
    "mutual_aid": ("家庭共济支付", "Family mutual aid"),
    "wallet": ("微信/支付宝支付", "Wallet (WeChat Pay / Alipay)"),
    "deductible": ("本次起付线", "Deductible used"),
    "balance_after": ("个人账户余额（结算后）", "Personal account after"),
    "pay_title": ("支付", "Pay"),
    "pay_with": ("选择支付方式", "Pay with"),
    "wechat": ("微信支付", "WeChat Pay"),
    "alipay": ("支付宝", "Alipay"),
    "pay_now": ("确认支付 {amount}", "Pay {amount} now"),
    "pay_account_only": ("确认支付（个人账户）", "Pay (personal account)"),
    "payment_pending": ("支付处理中，请稍候…", "Payment in progress, please wait…"),
    "payment_settled": ("支付成功，账单已结清。", "Paid: the bill is settled."),
    "payment_failed": ("支付未成功，请重试。", "The payment did not go through; please try again."),
    "refresh": ("刷新", "Refresh"),
    "back": ("返回", "Back"),
    "history": ("账单记录", "History"),
    # messages
    "messages_title": ("提醒与通知", "Reminders and notices"),
    "no_messages": ("暂无消息。", "No messages yet."),
    "channel_sms": ("短信", "SMS"),
    "channel_push": ("应用通知", "App notice"),
    # family
    "family_title": ("亲情账号", "Family accounts"),
    "family_intro": (
        "为父母、配偶或子女管理账单：邀请亲属，对方同意后即可查看并代为支付。",
        "Manage a parent's, spouse's or child's bills: invite them, and once they accept you can see and pay their bills.",
    ),
    "family_unavailable": ("亲情账号功能暂未开放。", "Family accounts are not available yet."),
    "invite_title": ("邀请亲属", "Invite a relative"),
    "relative_phone": ("亲属手机号", "Relative's mobile number"),
    "relative_psn_no": ("亲属医保个人编号", "Relative's insurance number"),
    "relation": ("关系", "Relation"),
    "relation_spouse": ("配偶", "Spouse"),
    "relation_parent": ("父母", "Parent"),
    "relation_child": ("子女", "Child"),
    "relation_other": ("其他", "Other"),
    "invite": ("发送邀请", "Send the invitation"),
    "invited_ok": ("邀请已发送，等待对方同意。", "Invitation sent; waiting for them to accept."),
    "invitations_title": ("收到的邀请", "Invitations for you"),
    "invited_by": (
        "您的{relation}{name}邀请您加入亲情账号，成为其管理的亲属",
        "Your {relation} {name} invites you to be a relative they manage",
    ),
    "accept_invite": ("同意", "Accept"),
    "decline_invite": ("拒绝", "Decline"),
    "accepted_ok": (
        "已同意，对方可以为您查看和支付账单。",
        "Accepted: they can now see and pay your bills.",
    ),
    "relatives_title": ("我管理的亲属", "Relatives I manage"),
    "managers_title": ("管理我的亲属", "Relatives who manage my bills"),
    "no_relatives": ("暂无。", "None yet."),
    "pending": ("待同意", "Waiting"),
    "relative_bills": ("{name}的账单", "{name}'s bills"),
    "relative_credit": ("{name}的信用", "{name}'s credit"),
    "pay_for": ("代为支付", "Pay for them"),
    "declined_ok": ("已拒绝邀请。", "Invitation declined."),
    "proxy_sign_title": ("为{name}签署协议", "Sign the agreement for {name}"),
    "proxy_sign_intro": (
        "您是{name}的亲情账号管理人，可代其签署。请填写其医保登记的姓名和身份证号。",
        "You manage {name}'s account, so you may sign for them. Enter their name and ID number as on their insurance record.",
    ),
    "proxy_accept": (
        "{name}已知悉并同意以上协议，由我代为签署",
        "{name} knows and accepts this agreement, and I sign for them",
    ),
    "proxy_sign": ("代为签署", "Sign for them"),
    "proxy_signed_ok": (
        "已为{name}签约，信用额度为 {line}。",
        "Signed for {name}: their credit line is {line}.",
    ),
    "relative_not_signed": ("{name}尚未签署服务协议。", "{name} has not signed the agreement yet."),
    "relative_psn_name": ("亲属姓名", "Relative's full name"),
    "relative_certno": ("亲属身份证号", "Relative's ID number"),
    "end_title": ("解除亲情账号关联", "End a family link"),
    "withdraw_title": ("撤回邀请", "Withdraw an invitation"),
    "end_intro_manager": (
        "解除后，您不能再查看或代付{name}的账单，{name}也不能再使用您的额度。",
        "Afterwards you can no longer see or pay {name}'s bills, and {name} no longer uses your credit.",
    ),
    "end_intro_relative": (
        "解除后，{name}不能再查看或代付您的账单，您也不能再使用其额度。",
        "Afterwards {name} can no longer see or pay your bills, and you no longer use their credit.",
    ),
    "withdraw_intro": (
        "{name}尚未同意，撤回后邀请失效。",
        "{name} has not accepted yet; the invitation will no longer work.",
    ),
    "end_link": ("解除关联", "End the link"),
    "withdraw_invite": ("撤回邀请", "Withdraw"),
    "keep_link": ("保留关联", "Keep the link"),
    "end_ok": ("已解除关联。", "The link has ended."),
    "revoke_title": ("解除服务协议", "Revoke the agreement"),
    "revoke_intro": (
        "解除后，信用就医额度停用，之后可重新签署。只有没有未结清的账单和就诊时才能解除。",
        "After revoking, your credit line stops; you may sign again later. You can revoke only with nothing outstanding.",
    ),
    "revoke_nothing": ("您当前没有生效的服务协议。", "You have no agreement in force."),
    "revoke": ("确认解除", "Revoke"),
    "keep_agreement": ("保留协议", "Keep the agreement"),
    "revoked_ok": ("服务协议已解除。", "Your agreement is revoked."),
    # errors
    "error_title": ("出错了", "Something went wrong"),
    "not_found": ("没有找到这个页面或账单。", "This page or bill was not found."),
    "csrf_failed": ("页面已过期，请返回后重试。", "This page expired; go back and try again."),
    "session_expired": ("登录已过期，请重新登录。", "Your session ended; please log in again."),
    "err_invalid_code": ("验证码错误或已过期。", "The code is wrong or has expired."),
    "err_rate_limited": (
        "请求过于频繁，请 {retry_after} 秒后再试。",
        "Too many requests; try again in {retry_after} s.",
    ),
    "err_identity_mismatch": (
        "姓名或身份证号与医保登记不一致。",
        "The name or ID number does not match your insurance record.",
    ),
    "err_invalid_certno": ("身份证号格式不正确。", "The ID number is not valid."),
    "err_not_eligible": (
        "暂不符合信用就医条件。",
        "You are not eligible for credit care at the moment.",
    ),
    "err_version_mismatch": (
        "协议已更新，请重新阅读。",
        "The agreement changed; please read it again.",
    ),
    "err_validation_error": ("请检查填写的内容。", "Please check what you entered."),
    "err_bill_settled": ("账单已结清。", "The bill is already settled."),
    "err_bill_not_payable": ("该账单当前不能支付。", "This bill cannot be paid right now."),
    "err_forbidden": ("您没有权限进行此操作。", "You may not do this."),
    "err_not_found": ("没有找到。", "Not found."),
    "err_conflict": (
        "操作与当前状态冲突，请刷新。",
        "This conflicts with the current state; please refresh.",
    ),
    "err_outstanding_balance": (
        "还有未结清的账单或进行中的就诊，请先结清。",
        "A bill or an open visit is still outstanding: settle it first.",
    ),
    "err_not_signed": ("您当前没有生效的服务协议。", "You have no agreement in force."),
    "err_generic": ("操作未成功：{message}", "That did not work: {message}"),
    "err_split_changed": (
        "金额已变化（账户余额有变动），未扣款。请确认下方的新金额后再支付。",
        "The amounts changed (a balance moved) and nothing was taken. "
        "Check the new amounts below and pay again.",
    ),
    "mutual_aid_on": (
        "家庭共济：已开启，您支付其账单时由您的医保个人账户支付其个人负担部分",
        "Family mutual aid: on. When you pay their bills, your personal account pays "
        "their personal share",
    ),
    "mutual_aid_off": (
        "家庭共济：未开启，您的医保个人账户不会为其支付",
        "Family mutual aid: off. Your personal account pays nothing for them",
    ),
    "mutual_aid_turn_on": ("开启家庭共济", "Turn on family mutual aid"),
    "mutual_aid_turn_off": ("关闭家庭共济", "Turn off family mutual aid"),
    "mutual_aid_on_ok": ("已开启家庭共济。", "Family mutual aid is on."),
    "mutual_aid_off_ok": ("已关闭家庭共济。", "Family mutual aid is off."),
    "now_label": ("当前时间", "Now"),
    "hours_short": ("小时", "h"),
    "minutes_short": ("分", "min"),
}


def pick_language(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def translate(lang: str, key: str, **values: object) -> str:
    """The string ``key`` in ``lang`` with ``values`` filled in; an unknown key shows itself."""
    pair = STRINGS.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "en" else pair[0]
    return text.format(**values) if values else text


def yuan(amount: object) -> str:
    """``"12.30"`` → ``¥12.30``: the API's amounts are already exact two-place strings."""
    return f"¥{amount}" if amount is not None and amount != "" else ""


def local_time(value: str | datetime | None, *, zone: ZoneInfo, lang: str) -> str:
    """An ISO time (with offset) in the patient's zone, written the way each language reads it."""
    if value is None or value == "":
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    local = moment.astimezone(zone)
    if lang == "en":
        return local.strftime("%d %b %Y %H:%M")
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
