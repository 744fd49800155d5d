"""Demo data for messaging: approved templates per creditor (SMS reminder, third-party-safe SMS, a letter,
a voice script) and one SMS version waiting for approval. Called once after the core demo data."""

from __future__ import annotations

from qingshou.org.models import Creditor, Role, User

DEMO_TEMPLATES = [
    # kind, code, name, safe for third parties, body
    ("sms", "reminder", "还款提醒", False,
     "【{agency}】{debtor_name}您好，您尾号{account_tail}的{product}账户当前欠款{amount}元，请尽快还款。"
     "如有疑问请致电{hotline}。回复TD退订"),
    ("sms", "callback", "请转告回电", True,
     "【{agency}】{party_name}您好，请转告{debtor_name}尽快致电{hotline}，谢谢。回复TD退订"),
    ("letter", "notice", "催收通知函", False,
     "{debtor_name}：\n您在{creditor}的{product}账户（尾号{account_tail}）截至{today}尚欠{amount}元，"
     "请于{due_date}前还款。如有异议请致电{hotline}。\n{agency}"),
    ("voice", "reminder", "语音提醒话术", False,
     "您好，这里是{agency}，受{creditor}委托提醒{debtor_name}，您的账户尚有欠款，请尽快处理或致电{hotline}。"),
]


def load_demo_templates() -> int:
    """Create the demo templates (idempotent: creditors that already have templates are skipped)."""
    from qingshou.messaging import actions
    from qingshou.messaging.models import MessageTemplate

    author = User.objects.filter(role=Role.SUPERVISOR, is_active=True).order_by("pk").first()
    if author is None:
        return 0
    made = 0
    for creditor in Creditor.objects.filter(is_active=True).order_by("pk"):
        if MessageTemplate.objects.filter(creditor=creditor).exists():
            continue
        approver = User.objects.filter(role=Role.CREDITOR, creditor=creditor, is_active=True).order_by("pk").first()
        for kind, code, name, safe, body in DEMO_TEMPLATES:
            version = actions.do_create_template(acting_user=author, creditor=creditor, kind=kind, code=code,
                                                 name=name, body=body, safe_for_third_parties=safe)
            actions.do_submit_version(version, acting_user=author)
            if approver is not None:
                actions.do_approve_version(version, acting_user=approver, note="演示数据")
            made += 1
        # A second SMS version waiting for the creditor's approval.
        template = MessageTemplate.objects.get(creditor=creditor, kind="sms", code="reminder")
        draft = actions.do_save_version(template, acting_user=author, body=DEMO_TEMPLATES[0][4].replace(
            "请尽快还款", "请于三日内还款"))
        actions.do_submit_version(draft, acting_user=author)
    return made
