"""End to end in headless Chromium: a collector sends an SMS from the case page with the console backend
(preview, compliance pre-check, send), and the creditor's user approves a template in their own view."""

import json

import pytest

from qingshou.messaging.models import SmsMessage
from tests.browser import SHOTS, browser_marks, login
from tests.factories import World
from tests.test_messaging_templates import make_approved

pytestmark = browser_marks


@pytest.fixture
def browser_world(browser_env, settings, tmp_path):
    from qingshou.compliance.policies import ensure_seed_layers, invalidate

    ensure_seed_layers()          # transactional tests flush the data migration's rows
    invalidate()
    settings.SMS_BACKEND = "console"
    settings.SMS_OUTBOX = tmp_path / "outbox.jsonl"
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    return World()


def test_send_sms_from_the_case_page(browser_world, live_server, page, settings):
    w = browser_world
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    version = make_approved(w)

    login(page, base, "c1")
    page.goto(f"{base}/messaging/case/{w.case.pk}/sms/")
    page.wait_for_selector("#sms-preview")
    preview = page.inner_text("#sms-preview")
    assert w.case.debtor.name in preview and w.case.account_number[-4:] in preview
    assert "现在允许发送" in page.inner_text("#sms-precheck")
    page.screenshot(path=str(SHOTS / "e2e-sms-preview.png"), full_page=True)

    page.click("#sms-send-button")
    page.wait_for_load_state()
    assert page.url.rstrip("/").endswith(f"/cases/{w.case.pk}")
    assert "短信已排队" in page.content()
    message = SmsMessage.objects.get(case=w.case)
    assert message.status == "sent" and message.template_version_id == version.pk     # immediate task backend
    line = json.loads(settings.SMS_OUTBOX.read_text(encoding="utf-8").splitlines()[0])
    assert line["out_id"] == f"qs-{message.pk}" and line["content"] == message.body
    page.screenshot(path=str(SHOTS / "e2e-sms-case-timeline.png"), full_page=True)

    # The SMS page now lists it with its status.
    page.goto(f"{base}/messaging/case/{w.case.pk}/sms/")
    assert "已发送" in page.inner_text("#sms-history")
    page.screenshot(path=str(SHOTS / "e2e-sms-history.png"), full_page=True)


def test_creditor_user_approves_a_template(browser_world, live_server, page):
    from qingshou.messaging import actions
    from tests.test_messaging_templates import BODY

    w = browser_world
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    v = actions.do_create_template(acting_user=w.supervisor, creditor=w.creditor_a, kind="sms", code="remind",
                                   name="还款提醒", body=BODY)
    actions.do_submit_version(v, acting_user=w.supervisor)
    login(page, base, "sup")
    page.goto(f"{base}/messaging/templates/{v.template_id}/")
    page.screenshot(path=str(SHOTS / "e2e-template-supervisor.png"), full_page=True)
    login(page, base, "cred_a")
    page.goto(f"{base}/messaging/templates/")
    assert "等待委托方审核" in page.content()
    page.screenshot(path=str(SHOTS / "e2e-template-list-creditor.png"), full_page=True)
    page.click("text=还款提醒")
    page.click(".review-form button[value=approve]")
    page.wait_for_load_state()
    assert "已通过审核" in page.content()
    v.refresh_from_db()
    assert v.usable and v.approved_by == w.creditor_user_a
    page.screenshot(path=str(SHOTS / "e2e-template-approved.png"), full_page=True)


def test_bulk_sms_shows_progress_and_refusals(browser_world, live_server, page):
    from qingshou.compliance.models import DoNotContact

    w = browser_world
    base = live_server.url
    version = make_approved(w)
    phone = w.case_peer.debtor.parties.get(relation="self").phones.first()
    DoNotContact.objects.create(debtor=w.case_peer.debtor, phone=phone, channel="sms", reason="退订")
    login(page, base, "lead1")
    page.goto(f"{base}/messaging/sms/bulk/?bucket=M2&template={version.pk}")
    assert "2 个案件符合条件" in page.inner_text("#bulk-count")
    page.screenshot(path=str(SHOTS / "e2e-sms-bulk.png"), full_page=True)
    page.click("#bulk-send")
    page.wait_for_selector("#batch-figures")
    page.wait_for_function("document.querySelector('#batch-figures').innerText.includes('100%')")
    figures = page.inner_text("#batch-figures")
    assert "已处理 2 / 2" in figures
    rows = page.inner_text("#batch-rows")
    assert "合规拒绝" in rows and "已发送" in rows
    page.screenshot(path=str(SHOTS / "e2e-sms-batch.png"), full_page=True)
