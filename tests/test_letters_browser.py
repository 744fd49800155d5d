"""End to end in headless Chromium: a supervisor generates collection letters for a segment, sees one refused
by compliance with its reason, opens the register and records a dispatch. Screenshots in var/test/shots/."""

import pytest
from django.utils import timezone

from qingshou.letters.models import Letter
from tests.browser import SHOTS, browser_marks, login
from tests.factories import World

pytestmark = browser_marks


@pytest.fixture
def browser_world(browser_env, settings, tmp_path):
    from qingshou.compliance.policies import ensure_seed_layers, invalidate

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    ensure_seed_layers()
    invalidate()
    return World()


def test_supervisor_generates_letters_and_registers_dispatch(browser_world, live_server, page):
    from qingshou.portfolio.actions import do_place_hold
    from tests.test_letters import add_address, approved_template

    w = browser_world
    SHOTS.mkdir(parents=True, exist_ok=True)
    version = approved_template(w)
    add_address(w.case)
    add_address(w.case_peer)
    do_place_hold(w.case_peer, "complaint", acting_user=w.supervisor, note="客户投诉")
    base = live_server.url
    login(page, base, "sup")
    page.goto(f"{base}/letters/")
    page.select_option("select[name=template]", str(version.pk))
    page.screenshot(path=str(SHOTS / "letters-index.png"), full_page=True)
    page.click("#new-batch button[type=submit]")
    page.wait_for_load_state()
    page.wait_for_selector("#progress .b-status")                      # finished
    text = page.inner_text("#letters")
    assert "已生成" in text and "合规拒绝" in text and "投诉" in text
    page.screenshot(path=str(SHOTS / "letters-batch.png"), full_page=True)

    page.goto(f"{base}/letters/register/")
    assert w.case.account_number in page.inner_text("#register")
    page.click("#register a.btn")
    page.wait_for_load_state()
    page.select_option("select[name=status]", "sent")
    page.fill("input[name=sent_on]", timezone.localdate().isoformat())
    page.fill("input[name=carrier]", "EMS")
    page.fill("input[name=tracking_number]", "EA123456789CN")
    page.click("form button.primary")
    page.wait_for_load_state()
    assert "EA123456789CN" in page.inner_text("#register")
    page.screenshot(path=str(SHOTS / "letters-register.png"), full_page=True)
    letter = Letter.objects.get(case=w.case)
    assert (letter.dispatch_status, letter.tracking_number) == ("sent", "EA123456789CN")
