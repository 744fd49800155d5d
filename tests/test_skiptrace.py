"""Skip tracing (失联修复): detection, leads with lawful sources, recovery, enrichment import, report."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from qingshou.contact.actions import do_log_contact
from qingshou.contact.models import ContactAttempt
from qingshou.core.errors import ActionError
from qingshou.core.models import AuditLog
from qingshou.core.scheduler import discover_jobs
from qingshou.portfolio.models import Address, CaseEvent, Phone
from qingshou.skiptrace.actions import detect_lost_contact, do_add_lead, do_detect_case, do_verify_lead
from qingshou.skiptrace.enrichment import do_import_enrichment
from qingshou.skiptrace.models import EnrichmentImport, Lead, LostContact
from qingshou.skiptrace.reports import recontact_by_source
from tests.factories import make_case

N = 3


@pytest.fixture(autouse=True)
def _threshold(settings):
    settings.SKIPTRACE_UNANSWERED_ATTEMPTS = N


def phones_of(case):
    return list(Phone.objects.filter(party__debtor_id=case.debtor_id).select_related("party").order_by("id"))


def attempt(world, case, phone, outcome, *, minutes_ago):
    return ContactAttempt.objects.create(case=case, party=phone.party, phone=phone, collector=world.collector,
                                         outcome=outcome, started_at=timezone.now() - timedelta(minutes=minutes_ago))


def flag_of(case):
    return LostContact.objects.filter(case=case, cleared_at__isnull=True).first()


def make_lost(world, case=None):
    case = case or world.case
    for ph in phones_of(case):
        Phone.objects.filter(pk=ph.pk).update(status=Phone.Status.INVALID)
    flag = do_detect_case(case.pk)
    assert flag is not None
    return flag


# --- detection ----------------------------------------------------------------------------------


def test_lost_after_n_unanswered_attempts_on_every_phone_and_not_before(world, outcomes,
                                                                          django_capture_on_commit_callbacks):
    case = world.case
    debtor_phone, spouse_phone = phones_of(case)
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(N):
            attempt(world, case, debtor_phone, outcomes["no_answer"], minutes_ago=100 - i)
        for i in range(N - 1):
            attempt(world, case, spouse_phone, outcomes["powered_off"], minutes_ago=50 - i)
    assert flag_of(case) is None  # the spouse's number has had only N-1 unanswered calls
    with django_capture_on_commit_callbacks(execute=True):
        attempt(world, case, spouse_phone, outcomes["no_answer"], minutes_ago=1)
    flag = flag_of(case)
    assert flag is not None and flag.reason == LostContact.Reason.UNANSWERED
    assert flag.tried == {"phones": 2, "invalid": 0, "unanswered": 2, "attempts": 2 * N, "threshold": N}
    ev = CaseEvent.objects.get(case=case, type=CaseEvent.Type.LOST_CONTACT)
    assert ev.data["flag_id"] == flag.pk
    assert AuditLog.objects.filter(action="skiptrace.lost_contact", case_id=case.pk).count() == 1
    # a further attempt does not flag twice
    with django_capture_on_commit_callbacks(execute=True):
        attempt(world, case, spouse_phone, outcomes["no_answer"], minutes_ago=0)
    assert LostContact.objects.filter(case=case).count() == 1


def test_an_answered_call_among_the_last_n_keeps_the_phone_alive(world, outcomes, django_capture_on_commit_callbacks):
    case = world.case
    debtor_phone, spouse_phone = phones_of(case)
    Phone.objects.filter(pk=spouse_phone.pk).update(status=Phone.Status.INVALID)
    with django_capture_on_commit_callbacks(execute=True):
        attempt(world, case, debtor_phone, outcomes["no_answer"], minutes_ago=30)
        attempt(world, case, debtor_phone, outcomes["tp_refused"], minutes_ago=20)  # somebody answered
        attempt(world, case, debtor_phone, outcomes["no_answer"], minutes_ago=10)
    assert flag_of(case) is None
    assert detect_lost_contact()["flagged"] == 0


def test_all_phones_invalid_through_logged_contacts(office_hours, world, outcomes,
                                                    django_capture_on_commit_callbacks):
    case = world.case
    debtor_phone, spouse_phone = phones_of(case)
    with django_capture_on_commit_callbacks(execute=True):
        r = do_log_contact(case, party=debtor_phone.party, phone=debtor_phone, outcome=outcomes["invalid_number"],
                           acting_user=world.collector)
    assert r.saved and flag_of(case) is None  # one number left
    with django_capture_on_commit_callbacks(execute=True):
        r = do_log_contact(case, party=spouse_phone.party, phone=spouse_phone, outcome=outcomes["invalid_number"],
                           acting_user=world.collector)
    assert r.saved
    flag = flag_of(case)
    assert flag is not None and flag.reason == LostContact.Reason.ALL_INVALID


def test_nightly_job_flags_once_and_only_active_cases(world, outcomes):
    assert "skiptrace.detect_lost_contact" in discover_jobs()
    for c in (world.case, world.case_peer):
        Phone.objects.filter(party__debtor_id=c.debtor_id).update(status=Phone.Status.INVALID)
    world.case_peer.status = "settled"
    world.case_peer.save()
    first = detect_lost_contact()
    assert first["flagged"] == 1 and flag_of(world.case) and not flag_of(world.case_peer)
    assert detect_lost_contact()["flagged"] == 0
    assert LostContact.objects.count() == 1


# --- leads and recovery ------------------------------------------------------------------------------


def test_new_verified_phone_recovers_the_case(world):
    flag = make_lost(world)
    lead = do_add_lead(world.case, kind="phone", source="committee", number="137 0000 1234",
                       verification="verified", acting_user=world.collector, note="居委会王主任提供")
    phone = lead.phone
    assert phone.number == "13700001234" and phone.source == "committee" and phone.verification == "verified"
    assert phone.party.relation == "self" and phone.status == Phone.Status.VALID
    with connection.cursor() as cur:  # encrypted at rest, with its lookup hash
        cur.execute("SELECT number, number_hash FROM portfolio_phone WHERE id = %s", [phone.pk])
        raw, digest = cur.fetchone()
    assert "13700001234" not in raw and digest
    assert Phone.objects.filter(number="13700001234").get() == phone
    flag.refresh_from_db()
    assert flag.cleared_at and flag.recovered_by_source == "committee" and flag.recovered_by_lead == lead
    assert flag.cleared_by == world.collector
    types = set(CaseEvent.objects.filter(case=world.case).values_list("type", flat=True))
    assert {"phone_added", "contact_recovered", "lost_contact"} <= types
    assert AuditLog.objects.filter(action="skiptrace.recovered", case_id=world.case.pk).exists()
    assert AuditLog.objects.filter(action="skiptrace.lead_add", actor=world.collector).exists()


def test_unverified_phone_does_not_recover_until_marked_verified(world):
    flag = make_lost(world)
    lead = do_add_lead(world.case, kind="phone", source="dir114", number="13700002345", acting_user=world.collector)
    assert flag_of(world.case) == flag and lead.flag == flag
    do_verify_lead(lead, "verified", acting_user=world.leader)
    flag.refresh_from_db()
    assert flag.cleared_at and flag.recovered_by_source == "dir114"
    lead.refresh_from_db()
    assert lead.verified_by == world.leader and lead.phone.verification == "verified"
    assert CaseEvent.objects.filter(case=world.case, type="lead_verified").exists()


def test_right_party_contact_on_the_new_number_recovers(office_hours, world, outcomes,
                                                        django_capture_on_commit_callbacks):
    flag = make_lost(world)
    lead = do_add_lead(world.case, kind="phone", source="property", number="13700003456",
                       acting_user=world.collector)
    with django_capture_on_commit_callbacks(execute=True):
        r = do_log_contact(world.case, party=lead.party, phone=lead.phone, outcome=outcomes["rpc"],
                           acting_user=world.collector, institution_stated=True)
    assert r.saved
    flag.refresh_from_db()
    lead.refresh_from_db()
    assert flag.cleared_at and flag.recovered_by_source == "property" and flag.recovered_by_lead == lead
    assert lead.verification == "verified" and lead.phone.verification == "verified"


def test_wrong_mark_may_make_the_case_lost_again(world):
    make_lost(world)
    lead = do_add_lead(world.case, kind="phone", source="employer", number="13700004567",
                       verification="verified", acting_user=world.collector)
    assert flag_of(world.case) is None
    do_verify_lead(lead, "wrong", acting_user=world.collector)
    lead.phone.refresh_from_db()
    assert lead.phone.status == Phone.Status.INVALID
    assert flag_of(world.case) is not None and LostContact.objects.filter(case=world.case).count() == 2


def test_address_and_employer_leads(world):
    a = do_add_lead(world.case, kind="address", source="registry", address_text="上海市浦东新区测试路 1 号",
                    address_kind="work", acting_user=world.collector)
    assert Address.objects.get(pk=a.address_id).source == "registry"
    e = do_add_lead(world.case, kind="employer", source="own_contacts", employer="测试科技有限公司",
                    verification="verified", acting_user=world.collector)
    world.case.debtor.refresh_from_db()
    assert world.case.debtor.employer == "测试科技有限公司" and e.kind == "employer"
    assert CaseEvent.objects.filter(case=world.case, type__in=["address_added", "employer_added"]).count() == 2


def test_duplicates_are_not_created(world):
    existing = phones_of(world.case)[0]
    with pytest.raises(ActionError) as exc:
        do_add_lead(world.case, kind="phone", source="dir114", number=existing.number, acting_user=world.collector)
    assert "number" in exc.value.message_dict
    do_add_lead(world.case, kind="phone", source="dir114", number="13700005678", acting_user=world.collector)
    with pytest.raises(ActionError):
        do_add_lead(world.case, kind="phone", source="property", number="+86 137-0000-5678",
                    acting_user=world.collector)
    assert Phone.objects.filter(number="13700005678").count() == 1
    assert Lead.objects.count() == 1


# --- only lawful sources ----------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["bought_data", "数据公司", "", "placement", "skip_trace"])
def test_unlawful_source_refused_by_the_action(world, source):
    with translation.override("zh-hans"), pytest.raises(ActionError) as exc:
        do_add_lead(world.case, kind="phone", source=source, number="13700006789", acting_user=world.collector)
    assert "合法" in exc.value.message_dict["source"][0]
    assert not Phone.objects.filter(number="13700006789").exists()


def test_unlawful_source_refused_by_the_form(world, client_for):
    client = client_for(world.collector)
    r = client.post(reverse("skiptrace:add_lead", args=[world.case.pk]),
                    {"kind": "phone", "value": "13700007890", "source": "bought_data", "verification": "verified"})
    assert r.status_code == 200
    assert "合法" in r.content.decode()
    assert not Phone.objects.filter(number="13700007890").exists()
    r = client.post(reverse("skiptrace:add_lead", args=[world.case.pk]),
                    {"kind": "phone", "value": "13700007890", "source": "committee", "verification": "unverified",
                     "next": reverse("skiptrace:worklist")})
    assert r.status_code == 302 and r["Location"] == reverse("skiptrace:worklist")
    assert Phone.objects.filter(number="13700007890", source="committee").exists()


def test_unlawful_source_refused_by_the_api(world, client):
    from qingshou.core.tokens import create_api_token

    _, secret = create_api_token(world.collector, "t", acting_user=world.collector)
    url = f"/api/v1/cases/{world.case.pk}/leads"
    h = {"HTTP_AUTHORIZATION": f"Bearer {secret}", "HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    r = client.post(url, {"kind": "phone", "value": "13700008901", "source": "purchased"},
                    content_type="application/json", **h)
    assert r.status_code == 422 and "source" in r.json()["errors"]
    r = client.post(url, {"kind": "phone", "value": "13700008901", "source": "committee", "verification": "verified"},
                    content_type="application/json", **h)
    assert r.status_code == 201 and r.json()["value"] == "137****8901" and r.json()["lost_contact"] is False


# --- the enrichment import --------------------------------------------------------------------------


def _csv(world, *, extra=""):
    acc = world.case.account_number
    peer = world.case_peer.account_number
    text = ("卡号,新电话,新地址,工作单位,来源\r\n"
            f"{acc},13700011111;13700011112,上海市静安区测试路 8 号,测试物流有限公司,甲方\r\n"
            f"{peer},13700022222,,,114\r\n"
            f"NOPE-1,13700033333,,,\r\n" + extra)
    return io.BytesIO(text.encode("gbk"))


def test_enrichment_import_is_idempotent_and_reports_unmatched_rows(world):
    imp = do_import_enrichment(_csv(world), creditor=world.creditor_a, acting_user=world.supervisor,
                               file_name="补充.csv")
    assert (imp.total_rows, imp.matched_rows, imp.unmatched_rows) == (3, 2, 1)
    assert (imp.phones_added, imp.addresses_added, imp.employers_added, imp.duplicates) == (3, 1, 1, 0)
    assert imp.errors[0]["row"] == 4 and imp.errors[0]["account"] == "NOPE-1"
    assert Phone.objects.filter(number="13700011112", source="resupply").exists()
    assert Phone.objects.filter(number="13700022222", source="dir114").exists()
    assert Lead.objects.filter(enrichment=imp).count() == 5
    assert CaseEvent.objects.filter(type="phone_added").count() == 3
    again = do_import_enrichment(_csv(world), creditor=world.creditor_a, acting_user=world.supervisor)
    assert (again.phones_added, again.addresses_added, again.employers_added) == (0, 0, 0)
    assert again.duplicates == 5 and again.unmatched_rows == 1
    assert Phone.objects.filter(number__in=["13700011111", "13700011112", "13700022222"]).count() == 3
    assert AuditLog.objects.filter(action="skiptrace.import").count() == 2


def test_enrichment_import_refuses_unlawful_sources_and_bad_numbers(world):
    acc = world.case.account_number
    extra = f"{acc},13700044444,,,网上购买的数据\r\n{acc},12345,,,物业\r\n"
    imp = do_import_enrichment(_csv(world, extra=extra), creditor=world.creditor_a, acting_user=None)
    assert imp.invalid_rows == 2
    by_row = {e["row"]: e["message"] for e in imp.errors}
    assert 5 in by_row and 6 in by_row
    assert not Phone.objects.filter(number="13700044444").exists()


def test_enrichment_command_and_xlsx(world, tmp_path):
    import openpyxl

    path = tmp_path / "补充.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["账号", "手机", "单位地址"])
    ws.append([world.case.account_number, 13700055555, "上海市徐汇区测试路 9 号"])
    ws.append(["NOPE-2", 13700066666, ""])
    wb.save(path)
    out = io.StringIO()
    call_command("import_enrichment", str(path), "--creditor", "bank-a", stdout=out)
    text = out.getvalue()
    assert "unmatched 1" in text and "phones 1" in text and "row 3 (NOPE-2)" in text
    assert Address.objects.filter(kind="work", text="上海市徐汇区测试路 9 号", source="resupply").exists()
    call_command("import_enrichment", str(path), "--creditor", "bank-a", stdout=io.StringIO())
    assert EnrichmentImport.objects.order_by("-pk").first().duplicates == 2


# --- work list and report ---------------------------------------------------------------------------


def test_work_list_is_scoped_and_oldest_first(world, client_for):
    other = make_case(world.placement_a, collector=world.collector)
    make_lost(world, other)
    old = make_lost(world)
    LostContact.objects.filter(pk=old.pk).update(since=timezone.now() - timedelta(days=5))
    make_lost(world, world.case_peer)
    page = client_for(world.collector).get(reverse("skiptrace:worklist")).content.decode()
    assert page.index(world.case.account_number) < page.index(other.account_number)
    assert world.case_peer.account_number not in page
    client_for(world.leader)
    page = client_for(world.leader).get(reverse("skiptrace:worklist")).content.decode()
    assert world.case_peer.account_number in page


def test_report_figures_from_rows(world):
    f1 = make_lost(world)
    f2 = make_lost(world, world.case_peer)
    LostContact.objects.filter(pk=f1.pk).update(since=timezone.now() - timedelta(days=4))
    LostContact.objects.filter(pk=f2.pk).update(since=timezone.now() - timedelta(days=2))
    do_add_lead(world.case, kind="phone", source="committee", number="13700077777", verification="verified",
                acting_user=world.collector)
    do_add_lead(world.case_peer, kind="phone", source="committee", number="13700088888",
                acting_user=world.collector_peer)
    do_add_lead(world.case_peer, kind="address", source="property", address_text="上海市测试小区 3 栋",
                acting_user=world.collector_peer)
    lead = do_add_lead(world.case_peer, kind="phone", source="property", number="13700099999",
                       acting_user=world.collector_peer)
    do_verify_lead(lead, "verified", acting_user=world.collector_peer)
    data = recontact_by_source(world.case.__class__.objects.all())
    rows = {r.source: r for r in data["rows"]}
    c, p = rows["committee"], rows["property"]
    assert (c.leads, c.verified, c.lost_cases, c.recovered) == (2, 1, 2, 1)
    assert str(c.rate) == "50.0" and c.median_days == 4.0
    assert (p.leads, p.verified, p.lost_cases, p.recovered) == (2, 1, 1, 1)
    assert str(p.rate) == "100.0" and p.median_days == 2.0
    assert rows["dir114"].leads == 0 and rows["dir114"].rate is None
    assert data["totals"] == {"open": 0, "flagged": 2, "recovered": 2, "leads": 4, "median_days": 3.0}
    # scoped: the collector's own cases only
    from qingshou.core.scoping import visible_cases

    mine = {r.source: r for r in recontact_by_source(visible_cases(world.collector))["rows"]}
    assert mine["committee"].leads == 1 and mine["property"].leads == 0
    r = __import__("django.test", fromlist=["Client"]).Client()
    r.force_login(world.leader)
    html = r.get(reverse("skiptrace:report")).content.decode()
    assert "居委会" in html and "50.0%" in html


def test_demo_hook_flags_and_adds_leads(world):
    from qingshou.skiptrace.demo import demo_skiptrace

    for c in (world.case, world.case_peer, world.case_team2):
        Phone.objects.filter(party__debtor_id=c.debtor_id).update(status=Phone.Status.INVALID)
    out = demo_skiptrace()
    assert out["flagged"] == 3 and out["leads"] == 3
    assert LostContact.objects.filter(cleared_at__isnull=False).count() == 1  # the first lead is verified
