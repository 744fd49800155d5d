"""Assignment modes (pure planner) and the bulk 分案 action with team/creditor restriction."""

from decimal import Decimal

import pytest

from qingshou.core.models import AuditLog
from qingshou.portfolio.models import Case, CaseEvent
from qingshou.strategy import actions
from qingshou.strategy.assignment import CaseToAssign, Slot, plan_assignment
from qingshou.strategy.models import CollectorProfile, TeamCreditor
from tests.factories import make_case


def cases(n, **kw):
    return [CaseToAssign(case_id=i, creditor_id=kw.get("creditor_id", 1), balance=kw.get("balance", 1000.0),
                         team_id=kw.get("team_id"), region=kw.get("region", ""), product=kw.get("product", ""),
                         previous=kw.get("previous")) for i in range(1, n + 1)]


def test_round_robin_takes_turns():
    slots = [Slot(1, 10, 100), Slot(2, 10, 100, load=50), Slot(3, 10, 100)]
    plan = plan_assignment(cases(9), slots, mode="round_robin", large_balance=1e9)
    counts = [list(plan.assign.values()).count(u) for u in (1, 2, 3)]
    assert counts == [3, 3, 3]


def test_capacity_weighted_fills_the_emptiest_and_never_exceeds_capacity():
    slots = [Slot(1, 10, 10, load=8), Slot(2, 10, 20, load=0)]
    plan = plan_assignment(cases(25), slots, mode="capacity", large_balance=1e9)
    got = list(plan.assign.values())
    assert got.count(1) == 2 and got.count(2) == 20          # both full
    assert len(plan.unassigned) == 3                          # no room left anywhere


def test_region_and_skill_prefer_matching_collectors():
    def slots():
        return [Slot(1, 10, 100, regions=frozenset({"上海"}), skills=frozenset({"车贷"})), Slot(2, 10, 100)]

    plan = plan_assignment(cases(5, region="上海"), slots(), mode="region", large_balance=1e9)
    assert set(plan.assign.values()) == {1}
    plan = plan_assignment(cases(5, product="车贷"), slots(), mode="skill", large_balance=1e9)
    assert set(plan.assign.values()) == {1}
    plan = plan_assignment(cases(4, region="北京"), slots(), mode="region", large_balance=1e9)
    assert set(plan.assign.values()) == {1, 2}               # no match: capacity-weighted


def test_sticky_and_large_balances_to_seniors():
    def slots():
        return [Slot(1, 10, 100), Slot(2, 10, 100, senior=True), Slot(3, 10, 100)]

    plan = plan_assignment(cases(3, previous=3), slots(), mode="sticky", large_balance=1e9)
    assert set(plan.assign.values()) == {3}
    plan = plan_assignment(cases(4, balance=80000.0), slots(), mode="round_robin", large_balance=50000)
    assert set(plan.assign.values()) == {2}
    full = [Slot(1, 10, 100), Slot(2, 10, 0, senior=True)]
    plan = plan_assignment(cases(2, balance=80000.0), full, mode="capacity", large_balance=50000)
    assert set(plan.assign.values()) == {1}                  # senior has no room: someone else takes it


def test_team_and_creditor_restriction():
    def slots():
        return [Slot(1, 10, 100), Slot(2, 20, 100)]

    plan = plan_assignment(cases(4, creditor_id=7), slots(), mode="capacity", large_balance=1e9,
                           team_creditors={7: {20}})
    assert set(plan.assign.values()) == {2}
    plan = plan_assignment(cases(4, team_id=10), slots(), mode="capacity", large_balance=1e9)
    assert set(plan.assign.values()) == {1}                  # a team's pool stays in the team
    with pytest.raises(ValueError):
        plan_assignment(cases(1), slots(), mode="nope", large_balance=0)


@pytest.mark.parametrize("mode", ["capacity", "round_robin"])
def test_fast_planner_makes_exactly_the_choices_of_the_simple_loop(mode, monkeypatch):
    """The heap planner (capacity, round_robin) against the plain per-case loop, on random portfolios with
    teams, served creditors, team pools, seniors, large balances, uneven loads and full collectors."""
    import random

    from qingshou.strategy import assignment

    def world(seed):
        rnd = random.Random(seed)
        slots = [Slot(u, rnd.choice((10, 20, 30)), rnd.choice((0, 1, 5, 20, 40)), load=rnd.randint(0, 12),
                      senior=rnd.random() < 0.3) for u in range(1, rnd.randint(2, 25))]
        cs = [CaseToAssign(case_id=i, creditor_id=rnd.choice((1, 2, 3)), balance=float(rnd.choice((800, 20000, 60000,
                           60000, 90000))), team_id=rnd.choice((None, None, None, 10, 30, 40)))
              for i in range(1, rnd.randint(1, 400))]
        return cs, slots, rnd.choice(({}, {1: {20}}, {2: {10, 30}, 3: {40}}))

    both = 0
    for seed in range(60):
        cs, slots, served = world(seed)
        fast = plan_assignment(cs, slots, mode=mode, large_balance=50000, team_creditors=served)
        cs, slots, served = world(seed)
        with monkeypatch.context() as m:
            m.setattr(assignment, "_HEAP_MODES", ())
            simple = plan_assignment(cs, slots, mode=mode, large_balance=50000, team_creditors=served)
        assert fast.assign == simple.assign, seed
        assert fast.unassigned == simple.unassigned, seed
        both += bool(fast.assign and fast.unassigned)
    assert both >= 10  # the portfolios do exercise collectors running full


@pytest.mark.django_db
def test_auto_assign_respects_served_creditors_and_writes_history(world, settings):
    settings.STRATEGY_ASSIGNMENT_MODE = "capacity"
    TeamCreditor.objects.create(team=world.team2, creditor=world.creditor_a)
    pool = [make_case(world.placement_a, total=Decimal("1000.00")) for _ in range(4)]
    CollectorProfile.objects.create(user=world.collector_team2, capacity=100)
    result = actions.auto_assign(acting_user=world.supervisor)
    assert result["assigned"] == 4
    for c in Case.objects.filter(pk__in=[c.pk for c in pool]):
        assert c.team_id == world.team2.pk and c.assigned_to.team_id == world.team2.pk
        assert CaseEvent.objects.filter(case=c, type="assigned").count() == 1
        assert AuditLog.objects.filter(action="case.assign", case_id=c.pk, actor=world.supervisor).exists()
    assert actions.auto_assign(acting_user=world.supervisor)["assigned"] == 0   # nothing left
