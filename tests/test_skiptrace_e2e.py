"""End to end in headless Chromium: a collector opens the lost-contact work list, records a number the
residents' committee (居委会) gave, marked verified, and the case leaves the list."""

import pytest

from qingshou.portfolio.models import Phone
from qingshou.skiptrace.actions import do_detect_case
from qingshou.skiptrace.models import LostContact
from tests.browser import SHOTS, browser_marks, login
from tests.factories import World

pytestmark = browser_marks


@pytest.fixture
def browser_world(browser_env):
    return World()


def test_collector_recovers_a_lost_case_from_the_work_list(browser_world, live_server, page):
    w = browser_world
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    for case in (w.case, w.case_peer):
        Phone.objects.filter(party__debtor_id=case.debtor_id).update(status=Phone.Status.INVALID)
        assert do_detect_case(case.pk) is not None

    login(page, base, "c1")
    page.goto(f"{base}/skiptrace/")
    rows = page.locator("#lost-list tr.st-row")
    assert rows.count() == 1                                  # only the collector's own lost case
    assert w.case.account_number in page.inner_text("#lost-list")
    assert "所有号码均为空号/停机" in page.inner_text("#lost-list")
    page.click("#lost-list details summary")
    page.screenshot(path=str(SHOTS / "e2e-skiptrace-worklist.png"), full_page=True)

    form = page.locator("#lost-list details form")
    form.locator("select[name$=kind]").select_option("phone")
    form.locator("input[name$=value]").fill("13912345678")
    form.locator("select[name$=source]").select_option(label="居委会/村委会")
    form.locator("select[name$=verification]").select_option("verified")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()

    assert "已记录；该案件已解除失联。" in page.content()
    assert page.locator("#lost-list tr.st-row").count() == 0
    assert "没有失联案件" in page.inner_text("#lost-list")
    page.screenshot(path=str(SHOTS / "e2e-skiptrace-recovered.png"), full_page=True)

    flag = LostContact.objects.get(case=w.case)
    assert flag.cleared_at is not None and flag.recovered_by_source == "committee"
    phone = Phone.objects.get(number="13912345678")
    assert phone.source == "committee" and phone.verification == "verified"

    # The case page shows the number (masked), its source on the skip-tracing page, and the timeline.
    page.goto(f"{base}/cases/{w.case.pk}/")
    assert "139****5678" in page.content()
    assert "失联修复成功" in page.inner_text(".timeline")
    page.screenshot(path=str(SHOTS / "e2e-skiptrace-case.png"), full_page=True)
    page.goto(f"{base}/skiptrace/case/{w.case.pk}/")
    assert "居委会/村委会" in page.inner_text("#leads")
    page.screenshot(path=str(SHOTS / "e2e-skiptrace-leads.png"), full_page=True)


def test_report_and_enrichment_upload_pages(browser_world, live_server, page, tmp_path):
    w = browser_world
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    Phone.objects.filter(party__debtor_id=w.case.debtor_id).update(status=Phone.Status.INVALID)
    do_detect_case(w.case.pk)

    login(page, base, "sup")
    page.goto(f"{base}/skiptrace/enrichment/")
    path = tmp_path / "甲方补充资料.csv"
    path.write_bytes(("卡号,新电话,工作单位,来源\r\n"
                      f"{w.case.account_number},13912340000,测试科技有限公司,居委会\r\n"
                      "NOPE-9,13912349999,,\r\n"
                      f"{w.case_peer.account_number},13912341111,,网上买的数据\r\n").encode("gbk"))
    page.select_option("select[name=creditor]", label=w.creditor_a.name)
    page.set_input_files("input[name=file]", str(path))
    page.click("form.st-form button[type=submit]")
    page.wait_for_load_state()
    counts = page.inner_text("#counts")
    assert "未匹配行数\n1" in counts or "未匹配行数 1" in counts.replace("\n", " ")
    errors = page.inner_text("#row-errors")
    assert "NOPE-9" in errors and "合法来源" in errors
    page.screenshot(path=str(SHOTS / "e2e-skiptrace-import.png"), full_page=True)

    page.goto(f"{base}/skiptrace/report/")
    row = page.inner_text("#by-source tr[data-source=committee]")
    assert "居委会/村委会" in row and "1" in row
    page.screenshot(path=str(SHOTS / "e2e-skiptrace-report.png"), full_page=True)
