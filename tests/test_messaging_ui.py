"""Template and SMS pages: editing, approval by the creditor's user, the case-page SMS flow, bulk progress."""

import pytest
from django.urls import reverse

from qingshou.core.models import AuditLog
from qingshou.messaging import actions
from qingshou.messaging.models import MessageTemplate, SmsBatch, SmsMessage, TemplateVersion
from tests.test_messaging_templates import BODY, make_approved


@pytest.fixture(autouse=True)
def _console(settings, tmp_path):
    settings.SMS_BACKEND = "console"
    settings.SMS_OUTBOX = tmp_path / "outbox.jsonl"


@pytest.mark.django_db
def test_template_lifecycle_through_the_pages(world, client):
    client.force_login(world.supervisor)
    r = client.post(reverse("messaging:template_new"), {
        "creditor": world.creditor_a.pk, "kind": "sms", "code": "remind", "name": "还款提醒", "body": BODY})
    template = MessageTemplate.objects.get(code="remind")
    assert r.status_code == 302 and r["Location"] == reverse("messaging:template", args=[template.pk])
    # Third-party-safe with debt placeholders: refused with the reason beside the field.
    r = client.post(reverse("messaging:template_new"), {
        "creditor": world.creditor_a.pk, "kind": "sms", "code": "tp", "name": "转告", "body": BODY,
        "safe_for_third_parties": "on"})
    assert r.status_code == 200 and "不能包含债务信息" in r.content.decode()
    version = template.versions.get()
    client.post(reverse("messaging:version_submit", args=[version.pk]))
    version.refresh_from_db()
    assert version.status == "pending"
    page = client.get(reverse("messaging:template", args=[template.pk])).content.decode()
    assert "待审核" in page and "张三" in page          # status in Chinese, preview with sample values
    # The supervisor cannot approve; creditor B's user does not even see it; creditor A's user approves.
    assert client.post(reverse("messaging:version_review", args=[version.pk]), {"op": "approve"}).status_code == 403
    client.force_login(world.creditor_user_b)
    assert client.get(reverse("messaging:template", args=[template.pk])).status_code == 404
    assert "还款提醒" not in client.get(reverse("messaging:templates")).content.decode()
    client.force_login(world.creditor_user_a)
    listing = client.get(reverse("messaging:templates")).content.decode()
    assert "还款提醒" in listing and "等待委托方审核" in listing
    r = client.post(reverse("messaging:version_review", args=[version.pk]), {"op": "approve", "note": "同意"})
    assert r.status_code == 302
    version.refresh_from_db()
    assert version.usable and version.approved_by == world.creditor_user_a
    assert AuditLog.objects.filter(action="template.approve", actor=world.creditor_user_a).exists()


@pytest.mark.django_db
def test_reject_needs_a_note(world, client):
    v = actions.do_create_template(acting_user=world.supervisor, creditor=world.creditor_a, kind="letter",
                                   code="letter1", name="催收函", body="{debtor_name}：请于{due_date}前还款。")
    actions.do_submit_version(v, acting_user=world.supervisor)
    client.force_login(world.creditor_user_a)
    client.post(reverse("messaging:version_review", args=[v.pk]), {"op": "reject"})
    v.refresh_from_db()
    assert v.status == "pending"
    client.post(reverse("messaging:version_review", args=[v.pk]), {"op": "reject", "note": "措辞过硬"})
    v.refresh_from_db()
    assert v.status == "rejected" and v.review_note == "措辞过硬"


@pytest.mark.django_db
def test_case_page_sms_preview_and_send(office_hours, world, client, django_capture_on_commit_callbacks):
    version = make_approved(world)
    client.force_login(world.collector)
    url = reverse("messaging:case_sms", args=[world.case.pk])
    page = client.get(url).content.decode()
    assert world.case.account_number[-4:] in page                 # the preview, filled from the case
    assert "合规检查：现在允许发送" in page
    party = world.case.debtor.parties.get(relation="self")
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(url, {"party": party.pk, "phone": party.phones.first().pk, "template": version.pk})
    assert r.status_code == 302 and r["Location"] == reverse("portfolio:case", args=[world.case.pk])
    message = SmsMessage.objects.get(case=world.case)
    assert message.status in ("queued", "sent")
    # The case page's timeline shows the SMS.
    case_page = client.get(reverse("portfolio:case", args=[world.case.pk])).content.decode()
    assert "短信已排队" in case_page
    # A third party sees only templates marked safe (none here).
    tp = world.case.debtor.parties.exclude(relation="self").first()
    page = client.get(url, {"party": tp.pk}).content.decode()
    assert "该收件人没有可用的已审核模板" in page


@pytest.mark.django_db
def test_bulk_page_creates_a_batch_and_shows_progress(office_hours, world, client, django_capture_on_commit_callbacks):
    version = make_approved(world)
    client.force_login(world.leader)
    page = client.get(reverse("messaging:bulk"), {"bucket": "M2", "template": version.pk}).content.decode()
    assert "2 个案件符合条件" in page         # team 1's cases of creditor A: c1's and c2's
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = client.post(reverse("messaging:bulk"), {"bucket": "M2", "template": version.pk})
    batch = SmsBatch.objects.get()
    assert r.status_code == 302 and batch.total == 2 and len(callbacks) == 1
    progress = client.get(reverse("messaging:batch", args=[batch.pk])).content.decode()
    assert "已处理 0 / 2" in progress and 'hx-trigger="every 2s"' in progress
    actions.run_batch(batch.pk)
    partial = client.get(reverse("messaging:batch", args=[batch.pk]), headers={"HX-Request": "true"})
    text = partial.content.decode()
    assert "已处理 2 / 2（100%）" in text and "<html" not in text
    # Another leader's batch is not visible to this leader.
    other = SmsBatch.objects.create(template_version=version, created_by=world.supervisor, total=0)
    assert client.get(reverse("messaging:batch", args=[other.pk])).status_code == 404
    assert TemplateVersion.objects.filter(pk=version.pk, active=True).exists()
