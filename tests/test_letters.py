"""Letters: PDF content (what the 2011 credit-card rules require), batches through the compliance engine,
the dispatch register (edit, CSV import)."""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from qingshou.compliance.models import ComplianceDecision
from qingshou.contact.models import ContactAttempt
from qingshou.core.errors import ActionError
from qingshou.core.models import AuditLog
from qingshou.letters.actions import (
    batch_progress,
    do_create_letter_batch,
    do_import_tracking,
    do_update_dispatch,
    letter_content,
    run_letter_batch,
)
from qingshou.letters.models import Letter
from qingshou.letters.pdf import FONT, render_pdf_pages
from qingshou.messaging.actions import do_approve_version, do_create_template, do_submit_version
from qingshou.portfolio.actions import do_place_hold
from qingshou.portfolio.models import Address, CaseEvent
from tests.factories import make_case

LETTER_BODY = ("{debtor_name}您好：您在{creditor}的{product}账户（尾号{account_tail}）已逾期，"
               "欠款人民币{amount}元。请尽快还款，或致电{hotline}与我们协商。")


def approved_template(world, kind="letter", code="dunning", body=LETTER_BODY, creditor=None):
    creditor = creditor or world.creditor_a
    approver = world.creditor_user_a if creditor == world.creditor_a else world.creditor_user_b
    v = do_create_template(acting_user=world.supervisor, creditor=creditor, kind=kind, code=code,
                           name="催收函" if kind == "letter" else "律师函", body=body)
    do_submit_version(v, acting_user=world.supervisor)
    return do_approve_version(v, acting_user=approver)


def add_address(case, text="上海市浦东新区测试路1号101室"):
    party = case.debtor.parties.get(relation="self")
    return Address.objects.create(party=party, kind=Address.Kind.HOME, text=text)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def version(world):
    return approved_template(world)


def _pdf_text(data: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(data))
    return reader, "".join(p.extract_text() for p in reader.pages).replace(" ", "").replace("\n", "")


def test_letter_pdf_has_what_the_rules_require_on_one_a4_page(world, version):
    case = world.case
    party = case.debtor.parties.get(relation="self")
    address = add_address(case)
    content = letter_content(case, party, address, version, kind="letter", ref="L00001-1")
    data, pages = render_pdf_pages(content)
    reader, text = _pdf_text(data)
    assert pages == 1 and len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)       # A4 in points
    fonts = reader.pages[0]["/Resources"]["/Font"]
    base_fonts = {str(f.get_object()["/BaseFont"]) for f in fonts.values()}
    assert any(FONT in b for b in base_fonts), base_fonts                            # the CID font, named
    for needed in [
        "催收函", case.debtor.name, "12,000.00",                                      # name, balance
        "催收原因及法律依据", "民法典", "第五百七十七条", "商业银行信用卡业务监督管理办法",   # reason, legal basis
        "您的权利和义务", "查询账户状况",                                              # rights
        "如何提出异议", "提供相关证据",                                                # how to object
        "联系方式", "400-000-0000",                                                  # whom to contact
        "上海市浦东新区测试路1号101室", "****" + case.account_number[-4:],
        "业务公章",
    ]:
        assert needed in text, needed
    assert case.account_number not in text                                          # the account is masked
    assert case.debtor.id_number not in text


def test_lawyer_letter_is_titled_as_such(world):
    v = approved_template(world, kind="lawyer_letter", code="lawyer", body="{debtor_name}：本所受{creditor}委托致函。")
    case = world.case
    party = case.debtor.parties.get(relation="self")
    data, _ = render_pdf_pages(letter_content(case, party, add_address(case), v, kind="lawyer_letter", ref="X"))
    assert "律师函" in _pdf_text(data)[1]


def test_batch_generates_letters_and_lists_compliance_refusals(office_hours, world, version):
    add_address(world.case)
    add_address(world.case_peer)
    do_place_hold(world.case_peer, "dispute", acting_user=world.supervisor, note="客户异议")
    bare = make_case(world.placement_a, collector=world.collector)
    batch = do_create_letter_batch([world.case.pk, world.case_peer.pk, bare.pk, world.case_team2.pk], kind="letter",
                                   version=version, acting_user=world.supervisor, criteria={"test": True})
    assert batch.total == 3                              # case_team2 is creditor B's: not this template's creditor
    counts = run_letter_batch(batch.pk)
    assert counts == {"generated": 1, "refused": 1, "skipped": 1}

    ok = Letter.objects.get(batch=batch, case=world.case)
    assert ok.status == "generated" and ok.pdf and ok.pages == 1
    assert ok.decision.allowed and ok.decision.channel == "letter"
    contact = ContactAttempt.objects.get(pk=ok.contact_id)
    assert contact.channel == "letter" and contact.outcome.code == "letter_sent"
    assert CaseEvent.objects.filter(case=world.case, type="letter_generated").exists()
    with ok.pdf.open("rb") as fh:
        assert world.case.debtor.name in _pdf_text(fh.read())[1]

    refused = Letter.objects.get(batch=batch, case=world.case_peer)
    assert refused.status == "refused" and not refused.pdf and refused.reasons
    assert not ComplianceDecision.objects.get(pk=refused.decision_id).allowed
    assert any("dispute" in r["rule"] for r in refused.decision.reasons)
    assert CaseEvent.objects.filter(case=world.case_peer, type="contact_refused").exists()
    assert AuditLog.objects.filter(action="letter.refused", case_id=world.case_peer.pk).exists()
    assert not ContactAttempt.objects.filter(case=world.case_peer, channel="letter").exists()

    skipped = Letter.objects.get(batch=batch, case=bare)
    assert skipped.status == "skipped" and skipped.reasons and not skipped.decision_id

    batch.refresh_from_db()
    progress = batch_progress(batch)
    assert progress["percent"] == 100 and progress["finished"] and progress["refused"] == 1
    assert run_letter_batch(batch.pk) == {"generated": 0, "refused": 0, "skipped": 0}   # idempotent
    assert Letter.objects.filter(batch=batch).count() == 3


def test_batch_page_creates_and_runs_a_batch_for_a_segment(office_hours, world, version, client,
                                                            django_capture_on_commit_callbacks, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    add_address(world.case)
    client.force_login(world.supervisor)
    assert client.get(reverse("letters:index")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("letters:index"), {"template": version.pk, "dpd_min": 40, "dpd_max": 50,
                                                   "bucket": ["M2"]})
    assert r.status_code == 302
    letter = Letter.objects.get(case=world.case)
    assert letter.batch.criteria["dpd_min"] == 40 and letter.batch.finished_at is not None
    page = client.get(r["Location"])
    assert page.status_code == 200 and "生成" in page.content.decode()
    pdf = client.get(reverse("letters:pdf", kwargs={"pk": letter.pk}))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert AuditLog.objects.filter(action="letter.download", object_id=str(letter.pk)).exists()
    # a collector may not prepare letters: refused and audited
    client.force_login(world.collector)
    assert client.get(reverse("letters:index")).status_code == 403
    assert AuditLog.objects.filter(action="permission.denied", actor=world.collector).exists()


def _generated(world, version, case=None):
    case = case or world.case
    add_address(case)
    batch = do_create_letter_batch([case.pk], kind="letter", version=version, acting_user=world.supervisor)
    run_letter_batch(batch.pk)
    return Letter.objects.get(batch=batch, case=case)


def test_dispatch_register_edit(office_hours, world, version):
    letter = _generated(world, version)
    with pytest.raises(ActionError) as exc:
        do_update_dispatch(letter, acting_user=world.supervisor, status="sent", sent_on=None, carrier="",
                           tracking_number="")
    assert {"sent_on", "carrier", "tracking_number"} <= set(exc.value.error_dict)
    day = timezone.localdate()
    do_update_dispatch(letter, acting_user=world.supervisor, status="delivered", sent_on=day, carrier="EMS",
                       tracking_number="EA123456789CN", note="本人签收")
    letter.refresh_from_db()
    assert (letter.dispatch_status, letter.carrier, letter.tracking_number, letter.sent_on) == (
        "delivered", "EMS", "EA123456789CN", day)
    assert AuditLog.objects.filter(action="letter.dispatch", object_id=str(letter.pk)).exists()
    assert CaseEvent.objects.filter(case=world.case, type="letter_dispatch").exists()


def test_tracking_import_is_all_or_nothing_with_row_numbers(office_hours, world, version, client):
    a = _generated(world, version)
    b = _generated(world, version, world.case_peer)
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    ref_a, ref_b = f"L{a.batch_id:05d}-{a.case_id}", f"L{b.batch_id:05d}-{b.case_id}"
    bad = (f"信函编号,承运商,运单号,寄出日期,状态\r\n{ref_a},EMS,EA1,{day},已寄出\r\n"
           f"L99999-1,EMS,EA2,{day},\r\n{ref_b},顺丰,SF3,2026-13-01,退回\r\n").encode("gbk")
    result = do_import_tracking(bad, acting_user=world.supervisor, file_name="t.csv")
    assert result.rows == 3 and result.updated == 0
    assert [row for row, _ in result.errors] == [3, 4]
    a.refresh_from_db()
    assert a.tracking_number == "" and a.dispatch_status == "pending"          # nothing written

    good = f"信函编号,承运商,运单号,寄出日期,状态\n{ref_a},EMS,EA1,{day},已寄出\n{ref_b},顺丰,SF3,{day},退回\n"
    client.force_login(world.supervisor)
    from django.core.files.uploadedfile import SimpleUploadedFile

    r = client.post(reverse("letters:import"), {"file": SimpleUploadedFile("t.csv", good.encode("utf-8-sig"))})
    assert r.status_code == 302
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.dispatch_status, a.tracking_number, a.carrier) == ("sent", "EA1", "EMS")
    assert (b.dispatch_status, b.tracking_number) == ("returned", "SF3")
    assert AuditLog.objects.filter(action="letter.import", data__updated=2).exists()
    # a leader of team 1 sees both letters' cases; a collector may not import at all
    client.force_login(world.collector)
    r = client.post(reverse("letters:import"), {"file": SimpleUploadedFile("t.csv", good.encode())})
    assert r.status_code == 403


def test_demo_data_makes_templates_letters_and_a_link(office_hours, world):
    from qingshou.letters.demo import load_demo_letters
    from qingshou.messaging.demo import load_demo_templates
    from qingshou.selfservice.models import SelfServiceLink

    load_demo_templates()
    add_address(world.case)
    out = load_demo_letters()
    assert out["templates"] == 2 and out["letters"] == 1 and out["links"] == 1
    letter = Letter.objects.get(case=world.case)
    assert letter.status == "generated" and "年" in letter.body          # {due_date} of the demo template filled
    assert letter.dispatch_status == "sent" and letter.tracking_number
    assert SelfServiceLink.objects.count() == 1
    assert load_demo_letters()["letters"] == 0                           # idempotent
