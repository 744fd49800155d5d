"""Demo data for letters and self-service: an approved self-service SMS template per creditor, one batch of
collection letters (a few registered as sent or delivered) and one self-service link. Run after the core and
messaging demo data (it uses the messaging demo's approved "notice" letter template)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

SELFSERVICE_SMS = ("【{agency}】{debtor_name}您好，您可通过以下链接查询{creditor}账户、承诺还款或提出异议：{link}"
                   " 如有疑问请致电{hotline}。回复TD退订")


def load_demo_letters(cases: int = 20) -> dict:
    from qingshou.letters.actions import do_create_letter_batch, do_update_dispatch, run_letter_batch
    from qingshou.letters.models import Letter, LetterBatch
    from qingshou.messaging import actions as msg
    from qingshou.messaging.models import MessageTemplate, TemplateVersion
    from qingshou.org.models import Creditor, Role, User
    from qingshou.portfolio.models import Address, Case
    from qingshou.selfservice.actions import do_issue_link

    out = {"templates": 0, "letters": 0, "links": 0}
    author = User.objects.filter(role=Role.SUPERVISOR, is_active=True).order_by("pk").first()
    if author is None:
        return out
    for creditor in Creditor.objects.filter(is_active=True).order_by("pk"):
        if MessageTemplate.objects.filter(creditor=creditor, kind="sms", code="selfservice").exists():
            continue
        approver = User.objects.filter(role=Role.CREDITOR, creditor=creditor, is_active=True).order_by("pk").first()
        v = msg.do_create_template(acting_user=author, creditor=creditor, kind="sms", code="selfservice",
                                   name="自助服务链接", body=SELFSERVICE_SMS)
        msg.do_submit_version(v, acting_user=author)
        if approver is not None:
            msg.do_approve_version(v, acting_user=approver, note="演示数据")
            out["templates"] += 1
    if LetterBatch.objects.exists():
        return out
    version = (TemplateVersion.objects.filter(template__kind="letter", status="approved", active=True)
               .select_related("template").order_by("template__creditor_id").first())
    if version is None:
        return out
    ids = list(Case.objects.filter(creditor_id=version.template.creditor_id, status="active",
                                   team__branch_id=author.branch_id,
                                   debtor__parties__relation="self",
                                   debtor__parties__addresses__isnull=False)
               .order_by("pk").values_list("pk", flat=True).distinct()[:cases])
    if Address.objects.exists() and ids:
        batch = do_create_letter_batch(ids, kind="letter", version=version, acting_user=author,
                                       criteria={"demo": True})
        run_letter_batch(batch.pk)
        sent_on = timezone.localdate() - timedelta(days=3)
        for i, letter in enumerate(Letter.objects.filter(batch=batch, status="generated").order_by("pk")[:5]):
            do_update_dispatch(letter, acting_user=author, status="delivered" if i % 2 else "sent", sent_on=sent_on,
                               carrier="EMS", tracking_number=f"EA{100000000 + letter.pk}CN")
        out["letters"] = batch.letters.filter(status="generated").count()
    case = Case.objects.filter(status="active", assigned_to__isnull=False).order_by("pk").first()
    if case is not None:
        do_issue_link(case, acting_user=case.assigned_to)
        out["links"] = 1
    return out
