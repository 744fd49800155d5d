"""The collector's queue, the case list, Get Next and the role-based home page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from qingshou.core.models import AuditLog
from qingshou.payments.models import Promise
from qingshou.portfolio.models import Case
from tests.factories import make_case

pytestmark = pytest.mark.django_db


def _queue_world(world):
    """c1 has: the world case (normal), a first-call-overdue case, a promise-due case, a huge normal one."""
    overdue = make_case(
        world.placement_a, collector=world.collector, total=Decimal("500.00"), assigned_days_ago=5
    )
    due = make_case(world.placement_a, collector=world.collector, total=Decimal("100.00"))
    Promise.objects.create(
        case=due, amount=Decimal("50.00"), due_date=timezone.localdate(), created_by=world.collector
    )
    big = make_case(world.placement_a, collector=world.collector, total=Decimal("99000.00"))
    return due, overdue, big


def test_queue_shows_priority_order_and_badges(world, client_for):
    due, overdue, big = _queue_world(world)
    html = client_for(world.collector).get("/cases/mine/").content.decode()
    positions = [html.index(c.account_number) for c in (due, overdue, big, world.case)]
    assert positions == sorted(positions), "promise due, then first call overdue, then balance"
    assert "承诺到期" in html and "首呼超时" in html
    assert world.case_peer.account_number not in html
    assert world.case_team2.account_number not in html
    assert "138****" in html  # masked debtor phone column
    assert due.debtor.parties.first().phones.first().number not in html


def test_queue_filters_and_search(world, client_for):
    due, overdue, big = _queue_world(world)
    c = client_for(world.collector)
    html = c.get("/cases/mine/", {"q": big.account_number}).content.decode()
    assert big.account_number in html and world.case.account_number not in html
    html = c.get("/cases/mine/", {"q": due.debtor.name}).content.decode()
    assert due.account_number in html and big.account_number not in html
    html = c.get("/cases/mine/", {"priority": "1"}).content.decode()
    assert overdue.account_number in html and due.account_number not in html
    html = c.get("/cases/mine/", {"dpd_min": "40", "dpd_max": "50", "bucket": "M2"}).content.decode()
    assert big.account_number in html
    html = c.get("/cases/mine/", {"dpd_min": "400"}).content.decode()
    assert big.account_number not in html


@pytest.mark.parametrize(
    "params",
    [
        {"dpd_min": "abc"},
        {"dpd_max": "99999999999999999999999"},
        {"creditor": "x"},
        {"creditor": "999999"},
        {"priority": "9"},
        {"bucket": "M99"},
        {"page": "abc"},
        {"page": "99999"},
        {"sort": "nonsense"},
        {"q": "x" * 500},
        {"q": "a\x00b"},
    ],
)
def test_queue_bad_filter_input_never_500(world, client_for, params):
    r = client_for(world.collector).get("/cases/mine/", params)
    assert r.status_code in (200, 404)


def test_get_next_locks_and_redirects(world, client_for):
    due, overdue, big = _queue_world(world)
    r = client_for(world.collector).post("/cases/next/")
    assert r.status_code == 302 and r["Location"] == f"/cases/{due.pk}/"
    due.refresh_from_db()
    assert due.locked_by == world.collector and due.locked_until > timezone.now()
    assert AuditLog.objects.filter(action="case.get_next", object_id=str(due.pk)).exists()
    page = client_for(world.collector).get(r["Location"]).content.decode()
    assert "已锁定给您" in page


def test_get_next_says_when_queue_is_empty(world, client_for):
    Case.objects.filter(assigned_to=world.collector).update(next_work_at=timezone.now() + timedelta(hours=3))
    r = client_for(world.collector).post("/cases/next/", follow=True)
    assert r.redirect_chain[-1][0] == "/cases/mine/"
    assert "队列已空" in r.content.decode()


def test_get_next_needs_post_and_a_queue(world, client_for):
    assert client_for(world.collector).get("/cases/next/").status_code == 405
    r = client_for(world.creditor_user_a).post("/cases/next/")
    assert r.status_code == 403
    assert AuditLog.objects.filter(action="permission.denied", actor=world.creditor_user_a).exists()


@pytest.mark.parametrize(
    "persona,target",
    [
        ("collector", "/cases/mine/"),
        ("leader", "/cases/mine/"),
        ("supervisor", "/reports/team/"),
        ("qa", "/cases/"),
        ("desk", "/cases/"),
        ("lawyer", "/cases/"),
        ("creditor_user_a", "/cases/"),
        ("admin", "/admin/"),
    ],
)
def test_home_redirects_by_role(world, client_for, persona, target):
    r = client_for(getattr(world, persona)).get("/")
    assert r.status_code == 302 and r["Location"] == target


def test_anonymous_goes_to_login(client):
    for url in ("/", "/cases/", "/cases/mine/", "/cases/1/", "/reports/team/", "/tokens/"):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/login/"), url


def test_login_page_and_login(world, client):
    r = client.get("/login/")
    assert r.status_code == 200 and "登录" in r.content.decode()
    r = client.post("/login/", {"username": "c1", "password": "pw-test-123456"})
    assert r.status_code == 302 and r["Location"] == "/"
    r = client.post("/logout/")
    assert r.status_code == 302


def test_case_list_is_scoped(world, client_for):
    html = client_for(world.creditor_user_a).get("/cases/").content.decode()
    assert world.case.account_number in html and world.case_peer.account_number in html
    assert world.case_team2.account_number not in html  # creditor B's case
    html = client_for(world.leader).get("/cases/").content.decode()
    assert world.case.account_number in html and world.case_team2.account_number not in html
    html = client_for(world.collector).get("/cases/").content.decode()
    assert world.case_peer.account_number not in html


def test_language_switch_to_english(world, client_for):
    c = client_for(world.collector)
    assert "我的案件" in c.get("/cases/mine/").content.decode()
    c.post("/i18n/setlang/", {"language": "en", "next": "/cases/mine/"})
    html = c.get("/cases/mine/").content.decode()
    assert "My cases" in html and "Get next" in html
