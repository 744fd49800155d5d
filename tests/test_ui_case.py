"""The case page: masking, reveal, logging contacts, refusals, scope."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from qingshou.contact.models import ContactAttempt, OutcomeCode
from qingshou.core.models import AuditLog
from qingshou.payments.models import Promise
from qingshou.portfolio.models import CaseEvent, Phone

pytestmark = pytest.mark.django_db


def _debtor(case):
    party = case.debtor.parties.get(relation="self")
    return party, party.phones.first()


def _allowed_time():
    """A start time inside 08:00–22:00 local that is not in the future: today if possible, else yesterday."""
    now = timezone.localtime()
    at = now.replace(hour=10, minute=0, second=0, microsecond=0)
    return at if at <= now else at - timedelta(days=1)


def _post(case, outcome_code, **extra):
    party, phone = _debtor(case)
    data = {
        "party": party.pk,
        "phone": phone.pk,
        "channel": "call",
        "direction": "out",
        "started_at": _allowed_time().strftime("%Y-%m-%dT%H:%M"),
        "duration_seconds": "65",
        "outcome": OutcomeCode.objects.get(code=outcome_code).pk,
        "notes": "测试催记",
        "institution_stated": "on",  # CN preset: the opening of a first conversation states the institution
    }
    data.update(extra)
    return data


def test_case_page_masks_numbers(world, client_for):
    html = client_for(world.collector).get(f"/cases/{world.case.pk}/").content.decode()
    for phone in Phone.objects.filter(party__debtor=world.case.debtor):
        assert phone.number not in html
        assert phone.number[:3] + "****" + phone.number[-4:] in html
    assert world.case.debtor.id_number not in html
    assert world.case.debtor.id_number[:6] + "********" in html
    assert "查看完整号码" in html
    assert "12,000.00" in html


def test_reveal_shows_number_and_audits(world, client_for):
    party, phone = _debtor(world.case)
    c = client_for(world.collector)
    form = c.get(f"/cases/{world.case.pk}/reveal/", {"what": f"phone:{phone.pk}"})
    assert form.status_code == 200 and 'name="reason"' in form.content.decode()
    r = c.post(f"/cases/{world.case.pk}/reveal/", {"what": f"phone:{phone.pk}", "reason": "核对号码"})
    assert r.status_code == 200 and phone.number in r.content.decode()
    row = AuditLog.objects.get(action="pii.reveal")
    assert row.actor == world.collector and row.case_id == world.case.pk and row.reason == "核对号码"
    assert CaseEvent.objects.filter(case=world.case, type="pii_revealed").exists()
    # The ID number as well.
    r = c.post(f"/cases/{world.case.pk}/reveal/", {"what": "id_number", "reason": "核实身份"})
    assert world.case.debtor.id_number in r.content.decode()


def test_reveal_needs_a_reason_and_a_number_of_this_case(world, client_for):
    c = client_for(world.collector)
    _, phone = _debtor(world.case)
    r = c.post(f"/cases/{world.case.pk}/reveal/", {"what": f"phone:{phone.pk}", "reason": ""})
    assert phone.number not in r.content.decode() and "请填写原因" in r.content.decode()
    _, other = _debtor(world.case_peer)
    for what in (f"phone:{other.pk}", "phone:abc", "phone:", "bogus", "phone:99999999999999999999999"):
        r = c.post(f"/cases/{world.case.pk}/reveal/", {"what": what, "reason": "核对号码"})
        assert r.status_code == 200 and other.number not in r.content.decode()
    assert not AuditLog.objects.filter(action="pii.reveal").exists()


def test_reveal_forbidden_without_capability(world, client_for):
    _, phone = _debtor(world.case)
    c = client_for(world.creditor_user_a)
    assert "查看完整号码" not in c.get(f"/cases/{world.case.pk}/").content.decode()
    r = c.post(f"/cases/{world.case.pk}/reveal/", {"what": f"phone:{phone.pk}", "reason": "看看"})
    assert r.status_code == 403 and phone.number not in r.content.decode()
    assert AuditLog.objects.filter(action="permission.denied", actor=world.creditor_user_a).exists()
    assert not AuditLog.objects.filter(action="pii.reveal").exists()


def test_log_contact_success(world, client_for):
    c = client_for(world.collector)
    data = _post(world.case, "rpc", cl_work_income="on", cl_work_income_note="在物流公司上班")
    r = c.post(f"/contacts/case/{world.case.pk}/log/", data)
    assert r.status_code == 302 and r["Location"] == f"/cases/{world.case.pk}/"
    contact = ContactAttempt.objects.get(case=world.case)
    assert (
        contact.outcome.code == "rpc"
        and contact.collector == world.collector
        and contact.duration_seconds == 65
    )
    assert contact.checklist == {"work_income": {"asked": True, "note": "在物流公司上班"}}
    assert CaseEvent.objects.filter(
        case=world.case, type="contact_logged", data__contact_id=contact.pk
    ).exists()
    html = c.get(r["Location"]).content.decode()
    assert "催记已保存" in html and "本人接通" in html and "测试催记" in html
    assert "首次通话要点：" in html and "工作与收入：在物流公司上班" in html  # on the timeline
    assert 'name="cl_work_income"' not in html  # first contact made: no checklist form any more


def test_log_contact_with_promise(world, client_for):
    due = timezone.localdate() + timedelta(days=3)
    data = _post(world.case, "ptp", promise_amount="1500.50", promise_due_date=due.isoformat())
    r = client_for(world.collector).post(f"/contacts/case/{world.case.pk}/log/", data)
    assert r.status_code == 302
    p = Promise.objects.get(case=world.case)
    assert p.amount == Decimal("1500.50") and p.due_date == due
    html = client_for(world.collector).get(f"/cases/{world.case.pk}/").content.decode()
    assert "1,500.50" in html


@pytest.mark.parametrize(
    "extra,field_msg",
    [
        ({}, "请填写承诺还款金额"),
        ({"promise_amount": "0", "promise_due_date": ""}, "请填写承诺还款日期"),
        ({"promise_amount": "999999", "promise_due_date": "2099-01-01"}, "承诺金额超过欠款总额"),
        ({"promise_amount": "100", "promise_due_date": "2000-01-01"}, "承诺还款日期不能早于今天"),
        ({"promise_amount": "abc"}, "请输入数字"),
        ({"promise_amount": "100", "promise_due_date": "31/02/2026"}, "有效的日期"),
    ],
)
def test_promise_field_errors_in_chinese(world, client_for, extra, field_msg):
    data = _post(world.case, "ptp", **extra)
    r = client_for(world.collector).post(f"/contacts/case/{world.case.pk}/log/", data)
    html = r.content.decode()
    assert r.status_code == 200 and field_msg in html
    assert not ContactAttempt.objects.exists() and not Promise.objects.exists()
    assert 'id="promise-fields"' in html and 'id="promise-fields" hidden' not in html  # stays open
    assert "测试催记" in html  # values kept


def test_compliance_refusal_is_not_saved_and_says_why(world, client_for):
    late = (timezone.localtime() - timedelta(days=1)).replace(hour=23, minute=0, second=0, microsecond=0)
    data = _post(world.case, "no_answer", started_at=late.strftime("%Y-%m-%dT%H:%M"), notes="深夜拨打测试")
    r = client_for(world.collector).post(f"/contacts/case/{world.case.pk}/log/", data)
    html = r.content.decode()
    assert r.status_code == 200
    assert not ContactAttempt.objects.exists()
    assert "未保存" in html and "不在允许联系时段" in html
    assert "下次可联系时间" in html and (late + timedelta(days=1)).strftime("%Y-%m-%d") + " 08:00" in html
    assert "深夜拨打测试" in html  # the form keeps its values
    assert CaseEvent.objects.filter(case=world.case, type="contact_refused").exists()


def test_action_field_errors_beside_fields(world, client_for):
    _, other_phone = _debtor(world.case_peer)
    spouse = world.case.debtor.parties.exclude(relation="self").first()
    c = client_for(world.collector)
    r = c.post(
        f"/contacts/case/{world.case.pk}/log/", _post(world.case, "rpc", phone=spouse.phones.first().pk)
    )
    assert "该号码不属于所选联系人" in r.content.decode()
    r = c.post(f"/contacts/case/{world.case.pk}/log/", _post(world.case, "rpc", phone=""))
    assert "请选择拨打的号码" in r.content.decode()
    future = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    r = c.post(f"/contacts/case/{world.case.pk}/log/", _post(world.case, "rpc", started_at=future))
    assert "联系时间不能晚于当前时间" in r.content.decode()
    r = c.post(f"/contacts/case/{world.case.pk}/log/", _post(world.case, "rpc", phone=other_phone.pk))
    assert r.status_code == 200 and not ContactAttempt.objects.exists()


@pytest.mark.parametrize(
    "bad",
    [
        {"party": "abc"},
        {"party": "99999999999999999999999"},
        {"phone": "-1"},
        {"outcome": ""},
        {"outcome": "99999"},
        {"channel": "fax"},
        {"direction": "sideways"},
        {"started_at": "yesterday"},
        {"started_at": "0001-01-01T00:00"},
        {"started_at": "9999-12-31T23:59"},
        {"duration_seconds": "-5"},
        {"duration_seconds": "1e9"},
        {"notes": "a\x00b"},
        {"promise_amount": "1e999"},
    ],
)
def test_bad_contact_input_never_500(world, client_for, bad):
    r = client_for(world.collector).post(
        f"/contacts/case/{world.case.pk}/log/", _post(world.case, "rpc", **bad)
    )
    assert r.status_code == 200
    assert not ContactAttempt.objects.exists()


def test_collector_gets_404_outside_scope(world, client_for):
    c = client_for(world.collector)
    for pk in (world.case_peer.pk, world.case_team2.pk, 999999, "99999999999999999999999"):
        assert c.get(f"/cases/{pk}/").status_code == 404
    assert (
        c.post(f"/contacts/case/{world.case_peer.pk}/log/", _post(world.case_peer, "rpc")).status_code == 404
    )
    assert (
        c.post(f"/cases/{world.case_peer.pk}/reveal/", {"what": "id_number", "reason": "x"}).status_code
        == 404
    )
    assert c.get(f"/cases/{world.case_peer.pk}/phones/").status_code == 404
    assert not ContactAttempt.objects.exists()


def test_creditor_user_cannot_post_a_contact(world, client_for):
    c = client_for(world.creditor_user_a)
    html = c.get(f"/cases/{world.case.pk}/").content.decode()
    assert 'id="log-form"' not in html and "只读" in html
    r = c.post(f"/contacts/case/{world.case.pk}/log/", _post(world.case, "rpc"))
    assert r.status_code == 403
    assert not ContactAttempt.objects.exists()
    assert AuditLog.objects.filter(action="permission.denied", actor=world.creditor_user_a).exists()
    # Creditor B does not even see creditor A's case.
    r = client_for(world.creditor_user_b).post(
        f"/contacts/case/{world.case.pk}/log/", _post(world.case, "rpc")
    )
    assert r.status_code == 404


def test_phone_options_follow_the_chosen_person(world, client_for):
    spouse = world.case.debtor.parties.exclude(relation="self").first()
    debtor, debtor_phone = _debtor(world.case)
    r = client_for(world.collector).get(f"/cases/{world.case.pk}/phones/", {"party": spouse.pk})
    html = r.content.decode()
    assert f'value="{spouse.phones.first().pk}"' in html and f'value="{debtor_phone.pk}"' not in html
    assert spouse.phones.first().number not in html
    assert (
        client_for(world.collector).get(f"/cases/{world.case.pk}/phones/", {"party": "x"}).status_code == 200
    )


def test_timeline_renders_events_in_chinese(world, client_for):
    c = client_for(world.collector)
    c.post(f"/contacts/case/{world.case.pk}/log/", _post(world.case, "deceased", notes="家属告知已去世"))
    html = c.get(f"/cases/{world.case.pk}/").content.decode()
    assert "死亡" in html and "设置暂停" in html and "家属告知已去世" in html
    assert "hold: " not in html and "hold_placed</strong>" not in html
