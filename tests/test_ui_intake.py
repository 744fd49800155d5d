"""Intake pages: placement upload with mapping preview/confirm/profile, dry run, progress, result and error
report; the repayment upload; recall from a list, the recall file and placement extension.

Tasks are enqueued on commit (captured here) and run by django-tasks-db's own worker in-process.
"""

import csv
import io
import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker

from qingshou.core.models import AuditLog
from qingshou.payments.models import Payment
from qingshou.portfolio.intake.sample import HEADERS, rows
from qingshou.portfolio.models import Case, Import, ImportProfile


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def run_worker(capture) -> None:
    """django-tasks-db's worker, in-process, until no task is ready (see tests/test_tasks.py)."""
    worker = Worker(queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
                    max_tasks=None, worker_id="test-worker", excluded_queue_names=[])
    with capture(execute=True), mock.patch(f"{Worker.__module__}.close_old_connections"):
        worker.run()


def placement_csv(n=6, *, encoding="gbk", broken_rows=(), headers=HEADERS, **kw) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(headers)
    for i, r in enumerate(rows(n, **kw)):
        if i in broken_rows:
            r[1] = "110101199001011230"  # bad check digit
            r[7] = "-5"
        w.writerow(r)
    return buf.getvalue().encode(encoding)


def upload(client, data: bytes, name="委案0601.csv", creditor=None, **extra):
    return client.post(reverse("intake:placement_upload"), {
        "creditor": creditor, "file": SimpleUploadedFile(name, data, content_type="text/csv"), "encoding": "",
        "placement_code": extra.get("placement_code", "")})


def mapping_post_data(response, **options) -> dict:
    """The mapping form as proposed (each column's selected option) plus options."""
    html = response.content.decode()
    data = {}
    for m in re.finditer(r'<select name="(col_\d+)"[^>]*>(.*?)</select>', html, re.S):
        sel = re.search(r'<option value="([^"]*)" selected>', m.group(2))
        data[m.group(1)] = sel.group(1) if sel else ""
    data.update(options)
    return data


def start_import(client, world, data: bytes, capture, **options):
    r = upload(client, data, creditor=world.creditor_a.pk)
    assert r.status_code == 302, r.content.decode()[:2000]
    mapping_url = r["Location"]
    page = client.get(mapping_url)
    assert page.status_code == 200
    with capture(execute=True):
        r = client.post(mapping_url, mapping_post_data(page, **options))
    assert r.status_code == 302, r.content.decode()[:3000]
    return r["Location"]


def test_only_intake_managers_see_the_pages(office_hours, world, client_for):
    c = client_for(world.collector)
    assert c.get(reverse("intake:index")).status_code == 403
    assert AuditLog.objects.filter(action="permission.denied", reason="intake.manage").exists()
    for user in (world.supervisor, world.admin):
        c = client_for(user)
        page = c.get(reverse("intake:index"))
        assert page.status_code == 200
        assert "载入委案文件" in page.content.decode()


def test_gbk_placement_upload_mapping_profile_task_and_result(office_hours, world, client_for,
                                                              django_capture_on_commit_callbacks):
    client = client_for(world.supervisor)
    data = placement_csv(6)
    r = upload(client, data, creditor=world.creditor_a.pk)
    assert r.status_code == 302
    page = client.get(r["Location"])
    html = page.content.decode()
    # The preview: the file's headers, the proposal selected, samples masked.
    assert "客户姓名" in html and "证件号码" in html and "GBK" in html
    first = next(rows(1))
    assert first[1] not in html and first[2] not in html          # full ID and mobile never shown
    assert first[1][:6] in html and first[2][-4:] in html         # masked forms are
    data_post = mapping_post_data(page, profile_name="甲银行标准格式")
    assert data_post["col_0"] == "name" and data_post["col_1"] == "id_number"

    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(r["Location"], data_post)
    assert r.status_code == 302
    detail_url = r["Location"]
    imp = Import.objects.get()
    assert detail_url == reverse("intake:detail", args=[imp.pk])
    assert imp.status == "pending" and imp.mapping["id_number"] == "证件号码"
    # Waiting for the worker: the page polls.
    html = client.get(detail_url).content.decode()
    assert 'hx-trigger="every 1s"' in html and "等待" in html

    run_worker(django_capture_on_commit_callbacks)
    imp.refresh_from_db()
    assert imp.status == "succeeded", imp.message
    assert Case.objects.filter(placement=imp.placement).count() == 6
    profile = ImportProfile.objects.get(creditor=world.creditor_a, name="甲银行标准格式")
    assert profile.mapping == imp.mapping
    assert AuditLog.objects.filter(action="import_profile.save", actor=world.supervisor).exists()

    html = client.get(detail_url).content.decode()
    assert "hx-trigger" not in html and 'data-status="succeeded"' in html
    assert "导入完成" in html and ">6<" in html
    # The status fragment (what HTMX fetches) says the same.
    frag = client.get(reverse("intake:status", args=[imp.pk])).content.decode()
    assert 'data-status="succeeded"' in frag and "<html" not in frag

    # The same file again: the profile is proposed next time, and the import is a no-op.
    r = upload(client, data, creditor=world.creditor_a.pk)
    page = client.get(r["Location"])
    assert "甲银行标准格式" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(r["Location"], mapping_post_data(page))
    again = Import.objects.order_by("-pk").first()
    assert again.status == "no_op"
    assert "已" in client.get(r["Location"]).content.decode()


def test_mapping_errors_are_shown_and_nothing_starts(office_hours, world, client_for):
    client = client_for(world.supervisor)
    r = upload(client, placement_csv(2), creditor=world.creditor_a.pk)
    url = r["Location"]
    page = client.get(url)
    data = mapping_post_data(page)
    data["col_1"] = ""                 # 证件号码 not imported: a required field has no column
    data["col_4"] = "name"             # 产品 as the name: twice the same field
    r = client.post(url, data)
    assert r.status_code == 200
    html = r.content.decode()
    assert "errors" in html and "已对应" in html
    assert not Import.objects.exists()


def test_stash_of_another_user_or_bad_token_is_404(office_hours, world, client_for):
    r = upload(client_for(world.supervisor), placement_csv(1), creditor=world.creditor_a.pk)
    url = r["Location"]
    assert client_for(world.admin).get(url).status_code == 404
    assert client_for(world.admin).get(reverse("intake:placement_mapping", args=["x" * 32])).status_code == 404
    assert client_for(world.admin).get(reverse("intake:placement_mapping", args=["ABCDEF"])).status_code == 404


def test_dry_run_then_for_real(office_hours, world, client_for, django_capture_on_commit_callbacks):
    client = client_for(world.supervisor)
    detail_url = start_import(client, world, placement_csv(4), django_capture_on_commit_callbacks, dry_run="on")
    run_worker(django_capture_on_commit_callbacks)
    dry = Import.objects.get()
    assert dry.status == "succeeded" and dry.dry_run
    assert not Case.objects.filter(account_number__startswith="62258").exists()
    html = client.get(detail_url).content.decode()
    assert "试导入" in html and reverse("intake:run_for_real", args=[dry.pk]) in html

    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("intake:run_for_real", args=[dry.pk]))
    real = Import.objects.exclude(pk=dry.pk).get()
    assert r["Location"] == reverse("intake:detail", args=[real.pk])
    run_worker(django_capture_on_commit_callbacks)
    real.refresh_from_db()
    assert real.status == "succeeded" and not real.dry_run
    assert Case.objects.filter(account_number__startswith="62258").count() == 4


def test_invalid_rows_rejected_with_error_report(office_hours, world, client_for,
                                                 django_capture_on_commit_callbacks):
    from openpyxl import load_workbook

    client = client_for(world.supervisor)
    detail_url = start_import(client, world, placement_csv(5, broken_rows=(1, 3)), django_capture_on_commit_callbacks)
    run_worker(django_capture_on_commit_callbacks)
    imp = Import.objects.get()
    assert imp.status == "rejected" and imp.invalid_rows == 2
    html = client.get(detail_url).content.decode()
    assert 'id="row-errors"' in html and "110101********1230" in html
    assert "110101199001011230" not in html
    r = client.get(reverse("intake:error_report", args=[imp.pk]))
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")
    ws = load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    values = [row for row in ws.values]
    assert values[0][0] == "行号" and {v[0] for v in values[1:] if v[0]} == {3, 5}
    assert AuditLog.objects.filter(action="import.error_report", actor=world.supervisor).exists()


def test_progress_bar_while_running(office_hours, world, client_for):
    from qingshou.portfolio.intake import create_import

    imp = create_import(io.BytesIO(placement_csv(40, encoding="utf-8")), creditor=world.creditor_a,
                        file_name="big.csv", acting_user=world.supervisor)
    Import.objects.filter(pk=imp.pk).update(status="running", progress=10, total_rows=40)
    client = client_for(world.supervisor)
    frag = client.get(reverse("intake:status", args=[imp.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in frag and 'style="width: 25%"' in frag and "10 / 40" in frag
    # The loading transaction hides the row's counts: the side file and the file's row estimate step in.
    Import.objects.filter(pk=imp.pk).update(progress=0, total_rows=0)
    from qingshou.portfolio.intake.placement import _progress_path

    _progress_path(imp.pk).parent.mkdir(parents=True, exist_ok=True)
    _progress_path(imp.pk).write_text("20")
    frag = client.get(reverse("intake:status", args=[imp.pk])).content.decode()
    assert re.search(r'aria-valuenow="(4\d|50)"', frag), frag


def test_payment_upload_page(office_hours, world, client_for, django_capture_on_commit_callbacks):
    client = client_for(world.supervisor)
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    body = "\r\n".join(["卡号,交易流水号,还款金额,还款日期", f"{world.case.account_number},W1,300,{day}",
                        f"NOPE,W2,50,{day}"]).encode("gbk")
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("intake:payment_upload"), {
            "creditor": world.creditor_a.pk, "file": SimpleUploadedFile("回款.csv", body), "encoding": ""})
    assert r.status_code == 302
    imp = Import.objects.get(kind="payment")
    run_worker(django_capture_on_commit_callbacks)
    imp.refresh_from_db()
    assert imp.status == "succeeded" and imp.created_count == 1
    assert Payment.objects.get().creditor_txn_id == "W1"
    html = client.get(r["Location"]).content.decode()
    assert "已入账回款" in html or "payments recorded" in html
    assert "甲方名下没有此卡号的案件。" in html and 'id="error-report"' in html
    # A form error: no file.
    r = client.post(reverse("intake:payment_upload"), {"creditor": world.creditor_a.pk})
    assert r.status_code == 200 and "ferr" in r.content.decode()


def test_recall_page_list_extend_and_recall_file(office_hours, world, client_for):
    from openpyxl import load_workbook

    client = client_for(world.supervisor)
    assert client.get(reverse("intake:recall")).status_code == 200
    body = f"合同号\r\n{world.case.account_number}\r\nUNKNOWN1\r\n".encode("gbk")
    r = client.post(reverse("intake:recall"), {"op": "recall", "creditor": world.creditor_a.pk, "reason": "甲方退案",
                                               "file": SimpleUploadedFile("退案.csv", body), "encoding": ""})
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="recall-report"' in html and "UNKNOWN1" in html
    world.case.refresh_from_db()
    assert world.case.status == "recalled"

    new_end = world.placement_a.ends_on + timedelta(days=30)
    r = client.post(reverse("intake:recall"), {"op": "extend", "placement": world.placement_a.pk,
                                               "ends_on": new_end.isoformat(), "reason": "甲方同意留案"})
    assert r.status_code == 302
    world.placement_a.refresh_from_db()
    assert world.placement_a.ends_on == new_end
    r = client.post(reverse("intake:recall"), {"op": "extend", "placement": world.placement_a.pk,
                                               "ends_on": timezone.localdate().isoformat(), "reason": "缩短"})
    assert r.status_code == 200 and "晚于" in r.content.decode()

    r = client.get(reverse("intake:recall_file"), {"creditor": world.creditor_a.pk})
    assert r.status_code == 200 and ".xlsx" in r["Content-Disposition"]
    ws = load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    assert [row[0] for row in ws.values][1:] == [world.case.account_number]
    assert AuditLog.objects.filter(action="recall.file", actor=world.supervisor).exists()
    assert client.get(reverse("intake:recall_file")).status_code == 302


def test_nav_link_and_timeline_of_a_recalled_case(office_hours, world, client_for):
    from qingshou.portfolio.actions import do_recall_cases

    html = client_for(world.supervisor).get(reverse("intake:index")).content.decode()
    assert reverse("intake:index") in html
    html = client_for(world.collector).get(reverse("portfolio:queue")).content.decode()
    assert reverse("intake:index") not in html
    do_recall_cases([world.case.pk], acting_user=None, reason="placement period ended")
    html = client_for(world.supervisor).get(reverse("portfolio:case", args=[world.case.pk])).content.decode()
    assert "委托期限届满" in html
