"""do_log_contact: the compliance hook, outcome effects, promises, audit and timeline."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from qingshou.compliance.models import ComplianceDecision
from qingshou.contact.actions import do_log_contact
from qingshou.contact.models import ContactAttempt
from qingshou.core.errors import ActionError
from qingshou.core.models import AuditLog
from qingshou.payments.models import Promise
from qingshou.portfolio.models import CaseEvent, CaseHold, Phone


def debtor_and_phone(case):
    party = case.debtor.parties.get(relation="self")
    return party, party.phones.first()


def log(world, outcome, **kw):
    case = kw.pop("case", world.case)
    party, phone = debtor_and_phone(case)
    kw.setdefault("party", party)
    kw.setdefault("phone", phone)
    return do_log_contact(case, outcome=outcome, acting_user=kw.pop("user", world.collector), **kw)


def test_logged_contact_writes_record_decision_event_and_audit(office_hours, world, outcomes):
    result = log(world, outcomes["no_answer"], notes="无人接听，稍后再拨")
    assert result.saved
    c = result.contact
    assert c.decision.allowed and c.decision.policy_version
    assert CaseEvent.objects.filter(case=world.case, type="contact_logged", data__contact_id=c.pk).exists()
    assert AuditLog.objects.filter(action="contact.log", object_id=str(c.pk), actor=world.collector).exists()
    world.case.refresh_from_db()
    assert world.case.first_contact_at == c.started_at
    assert world.case.next_work_at == c.started_at + timedelta(hours=2)
    assert c.seconds_since_assignment is not None and c.seconds_since_assignment >= 0


def test_refused_contact_is_not_saved_but_the_refusal_is_evidence(office_hours, world, outcomes):
    late = timezone.localtime().replace(hour=23, minute=0) - timedelta(days=1)
    result = log(world, outcomes["rpc"], started_at=late, institution_stated=True)
    assert not result.saved
    assert result.decision.reasons[0].rule == "cn.hours"
    assert result.decision.next_allowed_at is not None
    assert not ContactAttempt.objects.exists()
    d = ComplianceDecision.objects.get()
    assert d.allowed is False and d.reasons[0]["rule"] == "cn.hours"
    assert CaseEvent.objects.filter(case=world.case, type="contact_refused").exists()
    assert AuditLog.objects.filter(action="contact.refused").exists()


def test_sixth_call_to_a_party_the_same_day_is_refused(office_hours, world, outcomes):
    base = timezone.now() - timedelta(hours=2)
    for i in range(5):
        assert log(world, outcomes["no_answer"], started_at=base + timedelta(minutes=i)).saved
    sixth = log(world, outcomes["no_answer"], started_at=base + timedelta(minutes=10))
    assert not sixth.saved and sixth.decision.reasons[0].rule == "house.daily_calls"
    # a third party can still be called
    third = world.case.debtor.parties.exclude(relation="self").first()
    assert log(world, outcomes["no_answer"], party=third, phone=third.phones.first()).saved


def test_stop_today_blocks_further_calls(office_hours, world, outcomes):
    assert log(world, outcomes["stop_today"], started_at=timezone.now() - timedelta(minutes=30)).saved
    again = log(world, outcomes["no_answer"])
    assert not again.saved and again.decision.reasons[0].rule == "house.stop_today"


def test_invalid_number_outcome_marks_the_phone(office_hours, world, outcomes):
    party, phone = debtor_and_phone(world.case)
    log(world, outcomes["invalid_number"])
    phone.refresh_from_db()
    assert phone.status == Phone.Status.INVALID
    assert CaseEvent.objects.filter(case=world.case, type="phone_status").exists()


@pytest.mark.parametrize("code,reason", [("deceased", "deceased"), ("fraud", "fraud")])
def test_deceased_and_fraud_place_holds(office_hours, world, outcomes, code, reason):
    log(world, outcomes[code])
    assert CaseHold.objects.filter(case=world.case, reason=reason, released_at__isnull=True).count() == 1
    log(world, outcomes[code], started_at=timezone.now() - timedelta(minutes=1))
    assert CaseHold.objects.filter(case=world.case, reason=reason).count() == 1


def test_promise_to_pay_needs_amount_and_date(office_hours, world, outcomes):
    with pytest.raises(ActionError) as e:
        log(world, outcomes["ptp"])
    assert set(e.value.message_dict) == {"promise_amount", "promise_due_date"}
    with pytest.raises(ActionError) as e:
        log(world, outcomes["ptp"], promise_amount=Decimal("999999"), promise_due_date=timezone.localdate())
    assert "promise_amount" in e.value.message_dict
    with pytest.raises(ActionError) as e:
        log(world, outcomes["ptp"], promise_amount=Decimal("100"),
            promise_due_date=timezone.localdate() - timedelta(days=1))
    assert "promise_due_date" in e.value.message_dict
    assert not ContactAttempt.objects.exists() and not ComplianceDecision.objects.exists()


def test_promise_is_created_and_supersedes_the_pending_one(office_hours, world, outcomes):
    due = timezone.localdate() + timedelta(days=3)
    first = log(world, outcomes["ptp"], promise_amount=Decimal("500.00"), promise_due_date=due,
                started_at=timezone.now() - timedelta(minutes=5), institution_stated=True).promise
    second = log(world, outcomes["ptp"], promise_amount=Decimal("800.00"), promise_due_date=due).promise
    first.refresh_from_db()
    assert first.status == Promise.Status.CANCELLED
    assert second.status == Promise.Status.PENDING and second.contact is not None
    assert second.check_at is not None and timezone.localtime(second.check_at).date() > due
    assert CaseEvent.objects.filter(case=world.case, type="promise_made").count() == 2


def test_party_and_phone_must_belong_to_the_case(office_hours, world, outcomes):
    other_party, other_phone = debtor_and_phone(world.case_peer)
    with pytest.raises(ActionError) as e:
        log(world, outcomes["rpc"], party=other_party, phone=other_phone)
    assert "party" in e.value.message_dict
    party, _ = debtor_and_phone(world.case)
    third = world.case.debtor.parties.exclude(relation="self").first()
    with pytest.raises(ActionError) as e:
        log(world, outcomes["rpc"], party=party, phone=third.phones.first())
    assert "phone" in e.value.message_dict


def test_future_contact_time_and_bad_duration_rejected(office_hours, world, outcomes):
    with pytest.raises(ActionError) as e:
        log(world, outcomes["rpc"], started_at=timezone.now() + timedelta(hours=1), duration_seconds=-1)
    assert {"started_at", "duration_seconds"} <= set(e.value.message_dict)


def test_first_conversation_with_the_debtor_must_state_the_institution(office_hours, world, outcomes):
    # CN preset: a first right-party contact needs the collector's confirmation; no-answer calls need none.
    assert log(world, outcomes["no_answer"], started_at=timezone.now() - timedelta(minutes=30)).saved
    refused = log(world, outcomes["rpc"], started_at=timezone.now() - timedelta(minutes=20))
    assert not refused.saved and [r.rule for r in refused.decision.reasons] == ["cn.institution"]
    assert log(world, outcomes["rpc"], started_at=timezone.now() - timedelta(minutes=10),
               institution_stated=True).saved
    # once stated on the case, later conversations need no confirmation
    assert log(world, outcomes["rpc"]).saved


def test_third_party_only_when_the_debtor_is_unreachable_and_only_to_pass_on_a_message(
        office_hours, world, outcomes):
    third = world.case.debtor.parties.exclude(relation="self").first()
    early = log(world, outcomes["tpc"], party=third, phone=third.phones.first(),
                started_at=timezone.now() - timedelta(hours=1))
    assert not early.saved and [r.rule for r in early.decision.reasons] == ["cn.third_party.unreachable"]
    base = timezone.now() - timedelta(minutes=50)
    for i in range(3):
        assert log(world, outcomes["no_answer"], started_at=base + timedelta(minutes=i)).saved
    collect = log(world, outcomes["tpc"], party=third, phone=third.phones.first(), purpose="collect")
    assert not collect.saved and [r.rule for r in collect.decision.reasons] == ["cn.third_party.purpose"]
    ok = log(world, outcomes["tp_refused"], party=third, phone=third.phones.first(),
             started_at=timezone.now() - timedelta(minutes=5))
    assert ok.saved and ok.contact.decision.allowed  # default purpose with a third party: callback (转告回电)
    again = log(world, outcomes["tpc"], party=third, phone=third.phones.first())
    assert not again.saved and "cn.third_party.refused" in [r.rule for r in again.decision.reasons]


def test_flagged_notes_are_saved_with_flags_event_and_audit(office_hours, world, outcomes):
    result = log(world, outcomes["no_answer"], notes="再不还钱就上门抓你坐牢")
    assert result.saved  # notes are flagged for QA, not blocked
    c = result.contact
    assert c.flags and {f["category"] for f in c.flags} == {"fake_legal"}
    assert CaseEvent.objects.filter(case=world.case, type="content_flagged", data__contact_id=c.pk).exists()
    assert AuditLog.objects.filter(action="contact.flagged", object_id=str(c.pk)).exists()
    clean = log(world, outcomes["no_answer"], notes="无人接听", started_at=timezone.now() - timedelta(minutes=3))
    assert clean.contact.flags == []


def test_unknown_purpose_is_a_field_error(office_hours, world, outcomes):
    with pytest.raises(ActionError) as e:
        log(world, outcomes["no_answer"], purpose="threaten")
    assert "purpose" in e.value.message_dict
