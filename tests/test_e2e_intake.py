"""End to end in headless Chromium: a supervisor uploads a GBK-encoded CSV placement file, checks the proposed
column mapping, saves it as a profile, runs the import skipping an invalid row, sees the result and downloads
the error report; and the progress bar follows a running import through HTMX polling.

Uses Debian's /usr/bin/chromium through Playwright (fixtures as in tests/test_e2e_browser.py). The import task
runs on Django's ImmediateBackend here (in the web request that enqueues it); the worker path is covered by
tests/test_ui_intake.py.
"""

import csv
import io
from pathlib import Path

import pytest

from qingshou.portfolio.intake.sample import HEADERS, rows
from qingshou.portfolio.models import Case, Import, ImportProfile
from tests.browser import SHOTS, browser_marks, login
from tests.factories import World

pytestmark = browser_marks


@pytest.fixture
def browser_world(browser_env, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    return World()






def gbk_placement_file(path: Path, n=8, broken_row=2) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADERS)
    for i, r in enumerate(rows(n, seed=11)):
        if i == broken_row:
            r[1] = "110101199001011230"  # wrong check digit
        w.writerow(r)
    path.write_bytes(buf.getvalue().encode("gbk"))
    return path


def test_upload_a_gbk_placement_file(browser_world, live_server, page, tmp_path):
    w = browser_world
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    file = gbk_placement_file(tmp_path / "甲银行委案20261118.csv")

    login(page, base, "sup")
    page.click("nav >> text=导入")
    page.wait_for_url("**/intake/")
    page.click("text=载入委案文件")
    page.wait_for_url("**/intake/placement/")
    page.select_option("#id_creditor", str(w.creditor_a.pk))
    page.set_input_files("#id_file", str(file))
    page.fill("#id_placement_code", "A-20261118")
    page.screenshot(path=str(SHOTS / "e2e-intake-upload.png"), full_page=True)
    page.click("#upload-form button.primary")

    # The mapping preview: the file's Chinese headers, decoded from GBK, with the proposal selected.
    page.wait_for_selector("#mapping-form")
    text = page.inner_text("main")
    assert "客户姓名" in text and "证件号码" in text and "GBK" in text and "A-20261118" in text
    first = next(rows(1, seed=11))
    assert first[1] not in page.content() and first[2] not in page.content()
    assert page.input_value("select[name=col_1]") == "id_number"
    assert page.input_value("select[name=col_28]") == ""  # 邮箱: not one of our fields
    page.check("input[name=skip_invalid]")
    page.fill("input[name=profile_name]", "甲银行标准格式")
    page.screenshot(path=str(SHOTS / "e2e-intake-mapping.png"), full_page=True)
    page.click("#mapping-form button.primary")

    # The result.
    page.wait_for_selector("#import-status[data-status=succeeded]")
    result = page.inner_text("#import-status")
    assert "导入完成" in result and "已成功" not in result
    assert "证件号码" in page.inner_text("#row-errors")
    page.screenshot(path=str(SHOTS / "e2e-intake-result.png"), full_page=True)
    imp = Import.objects.get()
    assert imp.status == "succeeded" and imp.total_rows == 8 and imp.invalid_rows == 1
    assert Case.objects.filter(placement__code="A-20261118").count() == 7
    assert ImportProfile.objects.filter(name="甲银行标准格式").exists()

    with page.expect_download() as dl:
        page.click("#error-report")
    download = dl.value
    assert download.suggested_filename.endswith(".xlsx")
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(Path(download.path()).read_bytes())).active
    assert [r[0] for r in ws.values][1:] == [4]


def test_progress_bar_follows_the_running_import(browser_world, live_server, page, tmp_path):
    from qingshou.portfolio.intake import create_import

    w = browser_world
    SHOTS.mkdir(parents=True, exist_ok=True)
    imp = create_import(gbk_placement_file(tmp_path / "p.csv"), creditor=w.creditor_a, acting_user=w.supervisor)
    Import.objects.filter(pk=imp.pk).update(status="running", total_rows=200, progress=20)
    login(page, live_server.url, "sup")
    page.goto(f"{live_server.url}/intake/{imp.pk}/")
    assert page.get_attribute(".progress", "aria-valuenow") == "10"
    Import.objects.filter(pk=imp.pk).update(progress=130)
    page.wait_for_selector(".progress[aria-valuenow='65']")
    assert "130 / 200" in page.inner_text(".progress")
    page.screenshot(path=str(SHOTS / "e2e-intake-progress.png"), full_page=True)
    Import.objects.filter(pk=imp.pk).update(status="succeeded", progress=200, total_rows=200, valid_rows=200,
                                            created_count=200, message="ok")
    page.wait_for_selector("#import-status[data-status=succeeded]")
    assert "导入完成" in page.inner_text("#import-status")


def test_repayment_upload_and_recall_pages(browser_world, live_server, page, tmp_path):
    w = browser_world
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    pay = tmp_path / "回款20261117.csv"
    pay.write_bytes("\r\n".join([
        "卡号/合同号,交易流水号,还款金额,还款时间",
        f"{w.case.account_number},TX-1001,\"1,200.00\",2026-11-17 15:20:00",
        "6222999900001111,TX-1002,300.00,2026-11-17 16:00:00",
        f"{w.case_peer.account_number},TX-1003,abc,2026-11-17",
    ]).encode("gbk"))
    login(page, base, "sup")
    page.goto(f"{base}/intake/payments/")
    page.select_option("#id_creditor", str(w.creditor_a.pk))
    page.set_input_files("#id_file", str(pay))
    page.check("#id_skip_invalid")
    page.screenshot(path=str(SHOTS / "e2e-intake-payments-upload.png"), full_page=True)
    page.click("#payment-form button.primary")
    page.wait_for_selector("#import-status[data-status=succeeded]")
    text = page.inner_text("#import-status")
    assert "甲方名下没有此卡号的案件。" in text and "不是有效金额。" in text
    page.screenshot(path=str(SHOTS / "e2e-intake-payments-result.png"), full_page=True)
    w.case.refresh_from_db()
    assert str(w.case.total_due) == "10800.00"

    page.goto(f"{base}/intake/")
    assert "回款文件" in page.inner_text("#imports")
    page.screenshot(path=str(SHOTS / "e2e-intake-index.png"), full_page=True)

    listing = tmp_path / "退案清单.csv"
    listing.write_bytes(f"合同号\r\n{w.case.account_number}\r\nNOPE-1\r\n".encode("gbk"))
    page.goto(f"{base}/intake/recall/")
    page.select_option("#recall-form select[name=creditor]", str(w.creditor_a.pk))
    page.set_input_files("#recall-form input[type=file]", str(listing))
    page.fill("#recall-form input[name=reason]", "甲方要求退案")
    page.once("dialog", lambda d: d.accept())
    page.click("#recall-form button.primary")
    page.wait_for_selector("#recall-report")
    assert "NOPE-1" in page.inner_text("#recall-report")
    page.screenshot(path=str(SHOTS / "e2e-intake-recall.png"), full_page=True)
    w.case.refresh_from_db()
    assert w.case.status == "recalled"
