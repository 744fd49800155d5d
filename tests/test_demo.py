"""`qingshou demo`: counts, users of every role, valid data, a history that obeys the house rules."""

from collections import Counter
from datetime import UTC, datetime, time
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from qingshou.compliance.models import ComplianceDecision
from qingshou.contact.models import ContactAttempt
from qingshou.core import idnumbers
from qingshou.core.demo import demo_usernames, generate
from qingshou.core.models import AuditLog
from qingshou.core.scoping import visible_cases
from qingshou.org.models import Creditor, Role, Team, User
from qingshou.payments.models import Payment, Promise
from qingshou.portfolio import events
from qingshou.portfolio.models import Case, CaseEvent, CaseHold, Party, Phone, Placement
from qingshou.strategy.queue import PRIORITY_FIRST_CALL_OVERDUE, work_queue

N = 200
USERNAMES = (
    ["admin", "supervisor", "leader1", "leader2", "leader3"]
    + [f"collector{i}" for i in range(1, 16)]
    + ["qa1", "desk1", "lawyer1", "creditor_a", "creditor_b"]
)


@pytest.fixture
def demo(db):
    out = StringIO()
    call_command("demo", "--cases", str(N), "--core-only", stdout=out)
    return out.getvalue()


def test_counts_and_output(demo):
    assert Case.objects.count() == N
    assert Creditor.objects.count() == 2
    assert Placement.objects.count() >= 4
    assert Team.objects.count() == 3
    assert User.objects.filter(role=Role.COLLECTOR).count() == 15
    parties = Counter(Party.objects.exclude(relation="self").values_list("debtor_id", flat=True))
    assert set(parties.values()) <= {1, 2, 3, 4} and len(parties) == N
    assert Party.objects.filter(relation="self").count() == N
    assert ContactAttempt.objects.exists() and Promise.objects.exists() and Payment.objects.exists()
    assert Phone.objects.filter(status=Phone.Status.INVALID).exists()
    for username in USERNAMES:
        assert username in demo
    assert settings.DEMO_PASSWORD in demo
    assert AuditLog.objects.filter(action="demo.generate").count() == 1
    # the seeder's switch for storing past timestamps is undone afterwards
    assert Case._meta.get_field("created_at").auto_now_add
    assert ContactAttempt._meta.get_field("noted_at").auto_now_add


def test_users_of_every_role_and_their_scope(demo):
    assert sorted(demo_usernames()) == sorted(USERNAMES)
    for role in Role.values:
        assert User.objects.filter(role=role).exists(), role
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser and admin.role == Role.ADMIN
    for n in (1, 2, 3):
        leader = User.objects.get(username=f"leader{n}")
        assert leader.role == Role.TEAM_LEADER
        members = User.objects.filter(role=Role.COLLECTOR, team=leader.team).values_list(
            "username", flat=True
        )
        assert sorted(members) == sorted(f"collector{i}" for i in range(5 * n - 4, 5 * n + 1))
    assert 1 <= User.objects.filter(is_senior=True).count() < 15
    assert User.objects.get(username="creditor_a").creditor.name == "示例银行信用卡中心"
    assert User.objects.get(username="creditor_b").creditor.name == "示例消费金融有限公司"
    assert all(u.display_name for u in User.objects.all())
    for username in ("supervisor", "qa1", "desk1", "lawyer1"):
        assert User.objects.get(username=username).branch_id is not None


def test_every_login_authenticates_with_the_demo_password(demo):
    for username in USERNAMES:
        assert authenticate(username=username, password=settings.DEMO_PASSWORD) is not None, username
    assert authenticate(username="collector1", password="wrong-password") is None


def test_id_numbers_are_valid_and_agree_with_the_debtor(demo):
    seen = set()
    for case in Case.objects.select_related("debtor"):
        d = case.debtor
        info = idnumbers.parse(d.id_number)
        assert idnumbers.is_valid(d.id_number)
        assert info.birth_date == d.birth_date and info.gender == d.gender
        assert 1965 <= d.birth_date.year <= 2002
        seen.add(d.id_number)
    assert len(seen) == N


def test_phones_look_like_mainland_mobiles(demo):
    numbers = list(Phone.objects.values_list("number", flat=True))
    assert all(len(n) == 11 and n[0] == "1" and n[1] in "3456789" and n.isdigit() for n in numbers)
    assert len(set(numbers)) == len(numbers)


def test_balances_add_up_and_payments_reduce_them(demo):
    for case in Case.objects.all():
        assert case.principal + case.interest + case.late_fees + case.other_fees == case.total_due
        assert Decimal("0") <= case.total_due <= Decimal("200000")
        assert case.bucket and case.dpd >= 1
    placed = {e.case_id: Decimal(e.data["total_due"]) for e in CaseEvent.objects.filter(type="placed")}
    paid = dict(Payment.objects.values("case_id").annotate(s=Sum("amount")).values_list("case_id", "s"))
    for case in Case.objects.all():
        assert case.total_due + paid.get(case.pk, 0) == placed[case.pk]
        assert Decimal("2000") <= placed[case.pk] <= Decimal("200000")
    for case in Case.objects.filter(status="settled"):
        assert case.total_due == 0


def test_assignment_spread(demo):
    assigned = Case.objects.filter(assigned_to__isnull=False)
    assert assigned.count() >= N * 0.9
    assert Case.objects.filter(assigned_to__isnull=True).exists()
    assert not Case.objects.filter(team__isnull=True).exists()
    for case in assigned.select_related("assigned_to"):
        assert case.team_id == case.assigned_to.team_id
    now = timezone.now()
    for at in assigned.values_list("assigned_at", flat=True):
        assert 0.9 <= (now - at).total_seconds() / 86400 <= 40.1
    # some never contacted, some of them long enough ago that the first call is overdue
    never = assigned.filter(first_contact_at__isnull=True)
    assert never.exists()
    assert never.filter(assigned_at__lt=now - timezone.timedelta(days=settings.FIRST_CALL_DAYS)).exists()


def test_history_obeys_the_house_rules(demo):
    per_party_day = Counter()
    for c in ContactAttempt.objects.all():
        local = timezone.localtime(c.started_at)
        assert time(8, 0) <= local.time() < time(22, 0), local
        if c.channel in ("call", "robot"):
            per_party_day[(c.party_id, local.date())] += 1
        assert c.started_at <= timezone.now()
        assert c.noted_at >= c.started_at
        assert c.decision is not None and c.decision.allowed and c.decision.policy_version == "house@2026.1"
        assert (c.decision.case_id, c.decision.party_id, c.decision.contact_at) == (
            c.case_id,
            c.party_id,
            c.started_at,
        )
        assert c.phone.party_id == c.party_id
    assert per_party_day and max(per_party_day.values()) <= 5
    assert ComplianceDecision.objects.count() == ContactAttempt.objects.count()
    # "stop today": nothing more with that party (or, from the debtor, on the file) that day
    stops = ContactAttempt.objects.filter(outcome__stop_today=True).select_related("party")
    for stop in stops:
        day = timezone.localtime(stop.started_at).date()
        later = ContactAttempt.objects.filter(case=stop.case, started_at__gt=stop.started_at)
        if not stop.party.is_debtor:
            later = later.filter(party=stop.party)
        assert not [c for c in later if timezone.localtime(c.started_at).date() == day]


def test_case_contact_fields_match_the_history(demo):
    agg = {
        r["case_id"]: r
        for r in ContactAttempt.objects.values("case_id").annotate(
            first=Min("started_at"), last=Max("started_at")
        )
    }
    for case in Case.objects.all():
        if case.pk in agg:
            assert case.first_contact_at == agg[case.pk]["first"]
            assert case.last_contact_at == agg[case.pk]["last"]
        else:
            assert case.first_contact_at is None and case.last_contact_at is None


def test_promises_and_holds(demo):
    today = timezone.localdate()
    statuses = Counter(Promise.objects.values_list("status", flat=True))
    assert statuses["pending"] and statuses["kept"] and statuses["broken"]
    for p in Promise.objects.select_related("contact"):
        assert p.contact.outcome.code == "ptp" and p.party_id == p.contact.party_id
        assert p.created_at == p.contact.started_at
        assert Decimal("0") < p.amount
        if p.status == "pending":
            assert p.check_at is not None and p.due_date >= today - timezone.timedelta(days=2)
        else:
            assert p.check_at is None and p.resolved_at is not None
        if p.status == "kept":
            assert p.paid_amount >= p.amount
    # at most one live promise per case
    assert not Promise.objects.filter(status="pending").values("case").annotate(n=Count("id")).filter(n__gt=1)
    for hold in CaseHold.objects.all():
        assert ContactAttempt.objects.filter(
            case=hold.case, outcome__hold_reason=hold.reason, started_at=hold.placed_at
        ).exists()


def test_timeline_events_carry_the_same_data_as_the_constructors(demo):
    """Rebuild one event of each type with portfolio.events and compare the data keys."""

    def keys(type_):
        return {frozenset(d) for d in CaseEvent.objects.filter(type=type_).values_list("data", flat=True)}

    contact = ContactAttempt.objects.select_related("case", "party", "outcome", "collector").first()
    logged = CaseEvent.objects.get(type="contact_logged", data__contact_id=contact.pk)
    assert logged.data["party"] == contact.party.get_relation_display()
    assert logged.at == contact.started_at and logged.user_id == contact.collector_id
    # (the constructors write a row each; the key sets stay comparable)
    assert keys("contact_logged") == {
        frozenset(events.contact_logged(contact.case, contact, user=contact.collector).data)
    }

    case = Case.objects.first()
    assert keys("placed") == {frozenset(events.case_placed(case).data)}
    assert keys("assigned") == {
        frozenset(
            events.case_assigned(
                case, to_user=case.assigned_to or User.objects.get(username="collector1"), user=None
            ).data
        )
    }
    promise = Promise.objects.first()
    assert keys("promise_made") == {frozenset(events.promise_made(promise.case, promise, user=None).data)}
    if keys("promise_kept"):
        assert keys("promise_kept") == {frozenset(events.promise_kept(promise.case, promise).data)}
    assert keys("promise_broken") == {frozenset(events.promise_broken(promise.case, promise).data)}
    payment = Payment.objects.first()
    assert keys("payment_received") == {frozenset(events.payment_received(payment.case, payment).data)}
    phone_event = CaseEvent.objects.filter(type="phone_status").first()
    phone = Phone.objects.get(pk=phone_event.data["phone_id"])
    assert frozenset(phone_event.data) == frozenset(
        events.phone_status_changed(case, phone, old="unknown", user=None).data
    )
    for type_, made in (
        ("hold_placed", lambda: events.hold_placed(case, CaseHold.objects.first(), user=None)),
        ("status_changed", lambda: events.status_changed(case, old="active", new="settled", user=None)),
    ):
        if keys(type_):
            assert keys(type_) == {frozenset(made().data)}
    if keys("withdrawn"):
        assert keys("withdrawn") == {
            frozenset(events.case_withdrawn(case, from_user=None, user=None, reason="x").data)
        }


def test_queues_and_scopes_are_populated(demo):
    collector1 = User.objects.get(username="collector1")
    queue = work_queue(collector1)
    assert queue.exists()
    assert Case.objects.filter(
        assigned_to__isnull=False,
        first_contact_at__isnull=True,
        assigned_at__lt=timezone.now() - timezone.timedelta(days=2),
    ).exists()
    priorities = Counter()
    for i in range(1, 16):
        priorities.update(
            work_queue(User.objects.get(username=f"collector{i}")).values_list("priority", flat=True)
        )
    assert priorities[PRIORITY_FIRST_CALL_OVERDUE] > 0
    for username in (
        "supervisor",
        "leader1",
        "leader2",
        "leader3",
        "qa1",
        "desk1",
        "creditor_a",
        "creditor_b",
    ):
        assert visible_cases(User.objects.get(username=username)).exists(), username
    lawyer = User.objects.get(username="lawyer1")
    assert visible_cases(lawyer).count() == Case.objects.filter(status="legal").count()
    a = User.objects.get(username="creditor_a")
    assert not visible_cases(a).exclude(creditor=a.creditor).exists()


def test_refuses_a_database_that_has_cases(demo):
    with pytest.raises(CommandError, match="qingshou migrate"):
        call_command("demo", "--cases", "5", stdout=StringIO())
    assert Case.objects.count() == N


def test_bad_case_count_is_refused(db):
    with pytest.raises(CommandError):
        call_command("demo", "--cases", "0", stdout=StringIO())
    assert not Case.objects.exists()


def test_an_existing_user_is_left_alone(db):
    admin = User.objects.create_user("admin", password="my-own-secret-1", role=Role.ADMIN)
    out = StringIO()
    call_command("demo", "--cases", "20", stdout=out)
    admin.refresh_from_db()
    assert admin.check_password("my-own-secret-1")
    assert User.objects.count() == len(USERNAMES)
    assert Case.objects.count() == 20


def test_same_seed_same_data(db):
    now = datetime(2026, 5, 20, 3, 0, tzinfo=UTC)
    one = generate(cases=60, seed=2026, now=now, write=False)
    two = generate(cases=60, seed=2026, now=now, write=False)
    assert one.fingerprint == two.fingerprint and one.first_debtor == two.first_debtor
    other = generate(cases=60, seed=7, now=now, write=False)
    assert other.fingerprint != one.fingerprint and other.first_debtor != one.first_debtor
    # the debtors do not depend on when the data are generated, only on the seed
    later = generate(cases=60, seed=2026, now=datetime(2026, 6, 1, 12, 30, tzinfo=UTC), write=False)
    assert later.people_fingerprint == one.people_fingerprint and later.first_debtor == one.first_debtor
    # and writing gives what the plan said
    written = generate(cases=60, seed=2026, now=now)
    assert written.fingerprint == one.fingerprint
    first = Case.objects.order_by("pk").select_related("debtor").first().debtor
    assert (first.name, first.id_number) == one.first_debtor
    assert written.counts["cases"] == Case.objects.count() == 60
    assert written.counts["contacts"] == ContactAttempt.objects.count()
    assert written.counts["phones"] == Phone.objects.count()


def test_full_demo_fills_every_area(db):
    """What `make run` loads: the core demo, then each area's demo data on top of it."""
    from django.apps import apps

    call_command("demo", "--cases", "300", stdout=StringIO())
    for label, model in [("messaging", "TemplateVersion"), ("letters", "Letter"), ("arrangements", "RepaymentPlan"),
                         ("arrangements", "CreditorTerms"), ("telephony", "Recording"),
                         ("strategy", "CaseStrategy"), ("strategy", "StrategyRun")]:
        assert apps.get_model(label, model).objects.exists(), f"{label}.{model} is empty after the demo"
