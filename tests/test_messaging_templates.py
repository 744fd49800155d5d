"""Templates: placeholders, rendering, versions and the creditor's approval gate."""

import pytest

from qingshou.core.errors import ActionError
from qingshou.core.models import AuditLog
from qingshou.messaging import actions
from qingshou.messaging.models import TemplateVersion
from qingshou.messaging.templates import TemplateKind, approved_version, compliance_template, placeholders, render

S = TemplateVersion.Status
BODY = "【{agency}】{debtor_name}您好，您尾号{account_tail}的账户欠款{amount}元，请致电{hotline}。"


def make_approved(world, *, code="remind", body=BODY, safe=False, creditor=None, kind=TemplateKind.SMS):
    creditor = creditor or world.creditor_a
    v = actions.do_create_template(acting_user=world.supervisor, creditor=creditor, kind=kind, code=code,
                                   name="提醒", body=body, safe_for_third_parties=safe)
    actions.do_submit_version(v, acting_user=world.supervisor)
    approver = world.creditor_user_a if creditor == world.creditor_a else world.creditor_user_b
    return actions.do_approve_version(v, acting_user=approver)


def test_placeholders_and_render():
    assert placeholders("{a}x{b}{a}{{lit}}") == ["a", "b"]
    assert render("您好{debtor_name}，{{不是占位}}", {"debtor_name": "张三"}) == "您好张三，{不是占位}"
    with pytest.raises(ActionError) as e:
        render("您好{debtor_name}{amount}", {"debtor_name": "张三"})
    assert "{amount}" in str(e.value)


@pytest.mark.django_db
def test_unknown_placeholder_and_third_party_safe_validation(world):
    with pytest.raises(ActionError, match="nope"):
        actions.do_create_template(acting_user=world.supervisor, creditor=world.creditor_a, kind="sms",
                                   code="x", name="x", body="hi {nope}")
    with pytest.raises(ActionError) as e:
        actions.do_create_template(acting_user=world.supervisor, creditor=world.creditor_a, kind="sms",
                                   code="tp", name="x", body="请转告{debtor_name}欠款{amount}",
                                   safe_for_third_parties=True)
    assert "{amount}" in str(e.value)
    v = actions.do_create_template(acting_user=world.supervisor, creditor=world.creditor_a, kind="sms",
                                   code="tp", name="x", body="请转告{debtor_name}致电{hotline}",
                                   safe_for_third_parties=True)
    assert v.template.safe_for_third_parties
    # Turning an approved debt template into a "safe" one is refused.
    approved = make_approved(world, code="debt")
    with pytest.raises(ActionError):
        actions.do_save_version(approved.template, acting_user=world.supervisor, body="请致电{hotline}",
                                safe_for_third_parties=True)


@pytest.mark.django_db
def test_only_approved_active_versions_are_usable(world):
    v = actions.do_create_template(acting_user=world.supervisor, creditor=world.creditor_a, kind="sms",
                                   code="remind", name="提醒", body=BODY)
    with pytest.raises(ActionError):
        approved_version(world.creditor_a, TemplateKind.SMS, "remind")        # draft
    actions.do_submit_version(v, acting_user=world.supervisor)
    with pytest.raises(ActionError):
        approved_version(world.creditor_a, TemplateKind.SMS, "remind")        # pending
    assert compliance_template(v.pk).approved is False
    actions.do_approve_version(v, acting_user=world.creditor_user_a)
    got = approved_version(world.creditor_a, TemplateKind.SMS, "remind")
    assert got.pk == v.pk and got.approved_by == world.creditor_user_a
    t = compliance_template(v.pk)
    assert (t.approved, t.active, t.third_party_safe, t.kind, t.creditor_id) == (True, True, False, "sms",
                                                                                 world.creditor_a.pk)
    # The other creditor has no such template.
    with pytest.raises(ActionError):
        approved_version(world.creditor_b, TemplateKind.SMS, "remind")
    # A new version: the approved one stays in use until the new one is approved, then it is retired.
    v2 = actions.do_save_version(v.template, acting_user=world.supervisor, body="{debtor_name}您好，请致电{hotline}")
    assert v2.number == 2 and v2.status == S.DRAFT
    assert approved_version(world.creditor_a, "sms", "remind").pk == v.pk
    actions.do_submit_version(v2, acting_user=world.supervisor)
    actions.do_approve_version(v2, acting_user=world.creditor_user_a)
    v.refresh_from_db()
    assert v.status == S.RETIRED and not v.active
    assert compliance_template(v.pk).active is False
    assert approved_version(world.creditor_a, "sms", "remind").pk == v2.pk
    # Retiring the template: nothing usable.
    actions.do_retire_template(v.template, acting_user=world.supervisor)
    with pytest.raises(ActionError):
        approved_version(world.creditor_a, "sms", "remind")
    assert AuditLog.objects.filter(action="template.approve", actor=world.creditor_user_a).count() == 2


@pytest.mark.django_db
def test_approval_only_by_that_creditors_user(world):
    v = actions.do_create_template(acting_user=world.supervisor, creditor=world.creditor_a, kind="voice",
                                   code="script", name="话术", body="您好，我是{agency}的{collector}")
    actions.do_submit_version(v, acting_user=world.supervisor)
    for user in (world.creditor_user_b, world.supervisor, world.admin, world.collector):
        with pytest.raises(ActionError):
            actions.do_approve_version(v, acting_user=user)
    with pytest.raises(ActionError):
        actions.do_create_template(acting_user=world.collector, creditor=world.creditor_a, kind="sms",
                                   code="c", name="c", body="x")
    with pytest.raises(ActionError):
        actions.do_reject_version(v, acting_user=world.creditor_user_a, note="")
    actions.do_reject_version(v, acting_user=world.creditor_user_a, note="措辞不当")
    v.refresh_from_db()
    assert v.status == S.REJECTED
    # After a rejection the next edit is a new version.
    v2 = actions.do_save_version(v.template, acting_user=world.supervisor, body="您好，我是{agency}")
    assert v2.number == 2
    assert compliance_template(v2.pk).kind == "script"


@pytest.mark.django_db
def test_demo_templates(world):
    from qingshou.messaging.demo import load_demo_templates

    assert load_demo_templates() == 8                     # 4 per creditor, both creditors have an approver
    assert load_demo_templates() == 0                     # idempotent
    v = approved_version(world.creditor_b, TemplateKind.SMS, "callback")
    assert v.template.safe_for_third_parties and v.approved_by == world.creditor_user_b
    assert approved_version(world.creditor_a, TemplateKind.VOICE, "reminder").number == 1
    assert TemplateVersion.objects.filter(status=S.PENDING).count() == 2
