"""End to end in headless Chromium: a collector clicks "拨打" beside the debtor's number on the case page
(console backend), the call completes by itself a moment later with a synthetic recording, and the
recording plays in the page's audio element (its source answers 200 audio/wav; the play is audited)."""

import time

import pytest

from qingshou.compliance.policies import ensure_seed_layers, invalidate
from qingshou.contact.models import ContactStatus
from qingshou.core.models import AuditLog
from qingshou.telephony.models import Call
from tests.browser import SHOTS, browser_marks, login
from tests.factories import World
from tests.test_messaging_sms import drain

pytestmark = browser_marks


@pytest.fixture
def browser_world(browser_env, settings, tmp_path):
    ensure_seed_layers()
    invalidate()
    settings.TELEPHONY_BACKEND = "console"
    settings.TELEPHONY_CONSOLE_DELAY_SECONDS = 1
    settings.STORAGES = {**settings.STORAGES, "recordings": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "rec")}}}
    return World()


def test_click_to_call_completes_and_the_recording_plays(browser_world, live_server, page):
    w = browser_world
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    login(page, base, "c1")
    page.goto(f"{base}/cases/{w.case.pk}/")
    page.click(".dial-btn >> nth=0")
    page.wait_for_load_state()
    assert "正在呼叫" in page.inner_text(".messages")
    assert page.inner_text("#case-calls").count("呼叫中") + page.inner_text("#case-calls").count("排队中") == 1
    page.screenshot(path=str(SHOTS / "e2e-telephony-calling.png"), full_page=True)

    call = Call.objects.get()
    assert call.contact.status == ContactStatus.PENDING
    time.sleep(1.1)                                   # the console dialer answers after its delay
    drain()
    call.refresh_from_db()
    assert call.state == Call.State.COMPLETED
    # The card polls while a call is in progress: it turns into the completed row with a player.
    page.wait_for_selector("#calls-table audio.rec", timeout=10000)
    src = page.get_attribute("#calls-table audio.rec", "src")
    assert src == f"/telephony/recordings/{call.contact_id}/audio/"
    page.evaluate("document.querySelector('#calls-table audio.rec').play().catch(() => null)")
    page.wait_for_function("document.querySelector('#calls-table audio.rec').readyState >= 1", timeout=10000)
    response = page.request.get(base + src)
    assert response.status == 200 and response.headers["content-type"] == "audio/wav"
    assert response.body()[:4] == b"RIFF"
    assert AuditLog.objects.filter(action="recording.play", actor=w.collector).count() >= 2
    assert "本人接通" in page.inner_text("#case-calls")
    page.screenshot(path=str(SHOTS / "e2e-telephony-recording.png"), full_page=True)


def test_campaign_and_qa_pages(browser_world, live_server, page):
    from qingshou.portfolio.models import Case
    from tests.test_telephony import voice_script

    w = browser_world
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    Case.objects.filter(pk=w.case.pk).update(bucket="M1")
    script = voice_script(w)
    login(page, base, "lead1")
    page.goto(f"{base}/telephony/campaigns/")
    page.select_option("#id_creditor", str(w.creditor_a.pk))
    page.select_option("#id_segment", "early_stage")
    page.select_option("#id_script", str(script.pk))
    page.fill("#id_name", "M1 还款提醒")
    page.screenshot(path=str(SHOTS / "e2e-telephony-campaigns.png"), full_page=True)
    page.click("#campaign-start")
    page.wait_for_load_state()
    assert "活动已开始" in page.inner_text(".messages")
    time.sleep(1.1)
    drain()
    page.wait_for_function("document.querySelector('#campaign-progress').innerText.includes('全部完成')")
    assert "已完成 1 / 1 通" in page.inner_text("#campaign-progress")
    page.screenshot(path=str(SHOTS / "e2e-telephony-campaign.png"), full_page=True)
    page.goto(f"{base}/telephony/qa/")
    assert page.locator("#qa-recent audio.rec").count() == 1
    page.screenshot(path=str(SHOTS / "e2e-telephony-qa.png"), full_page=True)
    page.goto(f"{base}/telephony/import/")
    assert "导入外呼结果" in page.inner_text("h1")
    page.screenshot(path=str(SHOTS / "e2e-telephony-import.png"), full_page=True)
