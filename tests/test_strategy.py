"""Strategy: rules, validation, diff, versions, experiments, runs, incremental re-evaluation, queue."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from qingshou.core.errors import ActionError
from qingshou.core.models import AuditLog
from qingshou.payments.actions import do_make_promise, do_record_payment, do_resolve_promise
from qingshou.portfolio.models import Assignment, Case, CaseEvent
from qingshou.strategy import actions, engine
from qingshou.strategy.diff import diff_rules
from qingshou.strategy.facts import CaseFacts
from qingshou.strategy.models import CaseStrategy, StrategyRun, StrategyVersion
from qingshou.strategy.queue import work_queue
from qingshou.strategy.rules import DEFAULT_RULES, compile_rules, evaluate, validate_rules
from tests.factories import make_case


def facts(**kw):
    base = {"case_id": 1, "bucket": "M2", "dpd": 45, "balance": 8000.0, "score": 0.3}
    base.update(kw)
    return CaseFacts(**base)


# --- rules ----------------------------------------------------------------------------------------


def test_default_rules_are_valid_and_cover_the_brief():
    assert validate_rules(DEFAULT_RULES) == []
    decide = compile_rules(DEFAULT_RULES)
    hold = decide(facts(flags=frozenset({"hold"}), promise_due_in_days=0, open_promise=True))
    assert (hold.code, hold.rule_id) == ("none", "hold")                       # holds win over everything
    due = decide(facts(open_promise=True, promise_due_in_days=0))
    assert (due.code, due.priority, due.rule_id) == ("agent_call", 0, "promise-due")
    assert decide(facts(open_promise=True, promise_due_in_days=3)).code == "none"   # not yet due: wait
    broken = decide(facts(broken_promises_90d=1, days_since_contact=2))
    # the queue puts a promise broken in the last 3 days first (queue.py); after that it competes on value
    assert (broken.code, broken.priority, broken.rule_id) == ("agent_call", 3, "broken-promise")
    first = decide(facts(days_since_contact=None, days_since_assigned=2))
    assert (first.priority, first.rule_id) == (1, "first-call-overdue")
    assert decide(facts(days_since_contact=None, days_since_assigned=1)).rule_id != "first-call-overdue"
    big = decide(facts(score=0.8, balance=60000.0, days_since_contact=1))
    assert (big.code, big.priority, big.rule_id) == ("agent_call", 3, "high-value")
    # all other phone work shares one priority: the expected value of the call orders it (queue, simulator)
    phoned = {r["priority"] for r in DEFAULT_RULES if r["treatment"] in ("agent_call", "robot_call", "sms_reminder")}
    assert phoned == {0, 1, 3}
    small = decide(facts(score=0.05, balance=1500.0, days_since_contact=1))
    assert small.code == "sms_reminder"
    assert decide(facts(score=None, balance=1500.0, days_since_contact=1)).code != "sms_reminder"  # unknown score


def test_first_matching_rule_wins_and_conditions_combine():
    rules = [
        {"id": "a", "when": {"bucket_in": ["M3"], "dpd_gte": 60}, "treatment": "visit", "priority": 1},
        {"id": "b", "when": {"dpd_gte": 60}, "treatment": "robot_call", "priority": 2},
        {"id": "c", "when": {"region_in": ["上海"], "product_in": ["信用卡"], "flags_none": ["dispute"]},
         "treatment": "sms_reminder", "priority": 3},
        {"id": "d", "when": {"days_since_contact_never": True}, "treatment": "agent_call", "priority": 4},
        {"id": "z", "when": {}, "treatment": "none", "priority": 9},
    ]
    assert evaluate(rules, facts(bucket="M3", dpd=70)).rule_id == "a"
    assert evaluate(rules, facts(bucket="M2", dpd=70)).rule_id == "b"
    assert evaluate(rules, facts(region="上海", product="信用卡", days_since_contact=3)).rule_id == "c"
    assert evaluate(rules, facts(region="上海", product="信用卡", flags=frozenset({"dispute"}))).rule_id == "d"
    assert evaluate(rules, facts(days_since_contact=5)).rule_id == "z"


def test_validation_reports_each_problem_per_rule():
    problems = validate_rules([
        {"id": "x", "when": {"dpd_gte": "ten", "colour_in": ["red"]}, "treatment": "shout", "priority": -1},
        {"id": "x", "when": {"score_gte": 1.5, "balance_gte": 10, "balance_lte": 5}, "treatment": "none",
         "priority": 1},
    ])
    text = "\n".join(problems)
    assert "dpd_gte" in text and "colour_in" in text and "shout" in text
    with translation.override("zh-hans"):
        assert "重复使用了两次" in "".join(validate_rules(DEFAULT_RULES[:1] * 2))
    assert "score_gte" in text and "balance_gte" in text
    assert len(problems) >= 7            # includes "last rule must be a catch-all"
    assert validate_rules([]) and validate_rules("nope")
    with pytest.raises(ValueError):
        compile_rules([{"id": "a", "when": {"dpd_gte": 1}, "treatment": "none", "priority": 0}])


def test_diff_names_added_removed_changed_fields():
    old = [dict(r) for r in DEFAULT_RULES]
    new = [dict(r) for r in DEFAULT_RULES if r["id"] != "legal"]
    new[1] = {**new[1], "priority": 3, "when": {"promise_due_in_days_lte": 1}}
    new.insert(-1, {"id": "vip", "label": "贵宾", "when": {"balance_gte": 90000}, "treatment": "visit",
                    "priority": 1})
    with translation.override("zh-hans"):
        changes = {c.rule_id: c for c in diff_rules(old, new)}
    assert changes["legal"].kind == "removed"
    assert changes["vip"].kind == "added"
    lines = " ".join(changes["promise-due"].lines)
    assert "优先级：0 → 3" in lines and "条件 距承诺到期天数 ≤：0 → 1" in lines
    assert "hold" not in changes
    assert "外访" in " ".join(changes["vip"].lines)  # treatments by their Chinese names, not codes
    changed = [{**r, "treatment": "robot_call"} if r["id"] == "promise-due" else r for r in old]
    with translation.override("zh-hans"):
        (change,) = diff_rules(old, changed)
    assert "处置：人工电催 → 机器人电催" in change.lines


# --- versions, rollback, experiments --------------------------------------------------------------


@pytest.mark.django_db
def test_draft_publish_rollback(world):
    v1 = actions.ensure_default_strategy()
    rules = [dict(r) for r in DEFAULT_RULES]
    rules[-1] = {**rules[-1], "treatment": "robot_call"}
    with pytest.raises(ActionError):
        actions.do_save_draft([{"id": "bad", "when": {}, "treatment": "x", "priority": 0}],
                              acting_user=world.supervisor)
    v2 = actions.do_save_draft(rules, note="默认改机器人", acting_user=world.supervisor)
    assert v2.status == "draft" and v2.number == v1.number + 1
    actions.do_publish(v2, acting_user=world.supervisor)
    v1.refresh_from_db()
    assert v1.status == "retired"
    v3 = actions.do_rollback(v1, acting_user=world.supervisor, note="回退")
    v2.refresh_from_db()
    assert (v3.status, v3.rules, v3.based_on_id, v2.status) == ("published", v1.rules, v1.pk, "retired")
    assert StrategyVersion.objects.filter(status="published").count() == 1
    assert AuditLog.objects.filter(action="strategy.rollback", object_id=str(v3.pk)).exists()
    with pytest.raises(ActionError):
        actions.do_save_draft(rules, acting_user=world.supervisor, version=v3)  # published is read-only


def test_arm_split_is_stable_and_respects_share():
    arms = [engine.arm_for(i, 7, 0.2) for i in range(20000)]
    assert arms == [engine.arm_for(i, 7, 0.2) for i in range(20000)]
    share = arms.count("challenger") / len(arms)
    assert 0.19 < share < 0.21
    assert [engine.arm_for(i, 8, 0.2) for i in range(200)] != arms[:200]   # another experiment: another split


@pytest.mark.django_db
def test_experiment_arms_are_recorded(world):
    for _ in range(30):
        make_case(world.placement_a, collector=world.collector)
    rules = [dict(r) for r in DEFAULT_RULES]
    rules[-1] = {**rules[-1], "treatment": "visit"}
    challenger = actions.do_save_draft(rules, acting_user=world.supervisor)
    exp = actions.do_start_experiment(challenger, share="0.5", name="外访试验", acting_user=world.supervisor)
    with pytest.raises(ActionError):
        actions.do_start_experiment(challenger, share="0.9", name="x", acting_user=world.supervisor)
    engine.evaluate_cases()
    states = list(CaseStrategy.objects.filter(experiment=exp))
    assert states and {s.arm for s in states} == {"champion", "challenger"}
    for s in states:
        assert s.arm == engine.arm_for(s.case_id, exp.pk, 0.5)
        assert s.version_id == (challenger.pk if s.arm == "challenger" else actions.ensure_default_strategy().pk)
        if s.rule_id == "default":
            assert s.treatment == ("visit" if s.arm == "challenger" else "agent_call")


# --- runs and incremental re-evaluation -----------------------------------------------------------


@pytest.mark.django_db
def test_nightly_run_is_idempotent_and_reports(world):
    pool = [make_case(world.placement_a) for _ in range(3)]
    run, ran = actions.run_strategy(trigger="nightly")
    assert ran and run.status == "done"
    open_cases = Case.objects.filter(status__in=("active", "legal")).count()
    assert run.cases == open_cases == CaseStrategy.objects.count()
    assert run.assigned == 3
    assert all(c.assigned_to_id for c in Case.objects.filter(pk__in=[c.pk for c in pool]))
    assert sum(sum(v.values()) for v in run.report["moves"].values()) == open_cases
    assert run.report["moves"][""]  # first evaluation: from "no state"
    assert Assignment.objects.filter(case=pool[0], kind="assign").count() == 1
    assert CaseEvent.objects.filter(case=pool[0], type="assigned").count() == 1
    assert AuditLog.objects.filter(action="case.assign", case_id=pool[0].pk).exists()
    stamp = CaseStrategy.objects.get(pk=world.case.pk).evaluated_at
    again, ran2 = actions.run_strategy(trigger="manual")
    assert (again.pk, ran2) == (run.pk, False)
    assert CaseStrategy.objects.get(pk=world.case.pk).evaluated_at == stamp
    assert StrategyRun.objects.count() == 1


@pytest.mark.django_db
def test_incremental_reevaluation_after_payment_and_broken_promise(world, django_capture_on_commit_callbacks):
    case = world.case
    case.last_contact_at = timezone.now() - timedelta(days=3)
    case.first_contact_at = case.last_contact_at
    case.save()
    engine.evaluate_cases([case.pk])
    before = CaseStrategy.objects.get(pk=case.pk)
    assert before.rule_id != "broken-promise"
    promise = do_make_promise(case, amount=Decimal("100.00"), due_date=timezone.localdate(),
                              acting_user=world.collector)
    type(promise).objects.filter(pk=promise.pk).update(due_date=timezone.localdate() - timedelta(days=5))
    with django_capture_on_commit_callbacks(execute=True):
        do_resolve_promise(promise.pk)
    promise.refresh_from_db()
    assert promise.status == "broken"
    state = CaseStrategy.objects.get(pk=case.pk)
    assert (state.rule_id, state.treatment, state.priority) == ("broken-promise", "agent_call", 3)
    t0 = state.evaluated_at
    with django_capture_on_commit_callbacks(execute=True):
        do_record_payment(case, amount=Decimal("50.00"), paid_at=timezone.now(), source_ref="T-1")
    state.refresh_from_db()
    assert state.evaluated_at > t0


# --- queue ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_queue_follows_strategy_priority_then_score(world):
    low = make_case(world.placement_a, collector=world.collector, total=Decimal("90000.00"))
    high = make_case(world.placement_a, collector=world.collector, total=Decimal("1000.00"))
    sms = make_case(world.placement_a, collector=world.collector, total=Decimal("95000.00"))
    unknown = make_case(world.placement_a, collector=world.collector, total=Decimal("500.00"))
    v = actions.ensure_default_strategy()
    now, today = timezone.now(), timezone.localdate()

    def state(case, treatment, prio, score):
        CaseStrategy.objects.create(case=case, treatment=treatment, priority=prio, score=score, version=v,
                                    rule_id="t", evaluated_at=now, business_date=today)

    state(world.case, "agent_call", 2, 0.9)
    state(low, "agent_call", 3, 0.1)
    state(high, "agent_call", 3, 0.7)
    state(sms, "sms_reminder", 0, 0.9)
    order = list(work_queue(world.collector).values_list("pk", flat=True))
    # agent work first; priority 2 < default 5 for the unevaluated case; score before balance; sms last
    assert order == [world.case.pk, high.pk, low.pk, unknown.pk, sms.pk]
    # within a priority the expected money of the next call comes before the score
    CaseStrategy.objects.filter(case=low).update(value=5000.0)
    CaseStrategy.objects.filter(case=high).update(value=40.0)
    order = list(work_queue(world.collector).values_list("pk", flat=True))
    assert order == [world.case.pk, low.pk, high.pk, unknown.pk, sms.pk]


@pytest.mark.django_db
def test_queue_page_shows_the_treatment_badge(world, client_for):
    v = actions.ensure_default_strategy()
    CaseStrategy.objects.create(case=world.case, treatment="sms_reminder", priority=7, score=0.1, version=v,
                                rule_id="low-small-sms", evaluated_at=timezone.now(),
                                business_date=timezone.localdate())
    html = client_for(world.collector).get("/cases/mine/").content.decode()
    assert "短信提醒" in html


@pytest.mark.django_db
def test_states_are_written_the_same_by_copy_and_by_bulk(world, monkeypatch):
    """On PostgreSQL the nightly path upserts through COPY; elsewhere bulk_create. Both give the same rows."""
    for _ in range(5):
        make_case(world.placement_a, collector=world.collector)
    engine.evaluate_cases()
    first = {s.pk: (s.treatment, s.priority, s.rule_id, s.value) for s in CaseStrategy.objects.all()}
    # without a trained model the expected value of a call is propensity x balance
    for s in CaseStrategy.objects.select_related("case"):
        assert s.value == pytest.approx(s.score * float(s.case.total_due), abs=0.01)
    monkeypatch.setattr(engine, "COPY_MIN_ROWS", 1)
    CaseStrategy.objects.update(treatment="none", priority=99, value=None)
    result = engine.evaluate_cases()
    assert {s.pk: (s.treatment, s.priority, s.rule_id, s.value) for s in CaseStrategy.objects.all()} == first
    assert result.moves["none"] and sum(result.moves["none"].values()) == len(first)


@pytest.mark.django_db
def test_hold_placed_and_released_reevaluate(world, django_capture_on_commit_callbacks):
    from qingshou.portfolio.actions import do_place_hold, do_release_hold

    engine.evaluate_cases([world.case.pk])
    assert CaseStrategy.objects.get(pk=world.case.pk).treatment != "none"
    with django_capture_on_commit_callbacks(execute=True):
        hold = do_place_hold(world.case, "dispute", acting_user=world.supervisor, note="争议")
    assert CaseStrategy.objects.get(pk=world.case.pk).rule_id == "hold"
    with django_capture_on_commit_callbacks(execute=True):
        do_release_hold(hold, acting_user=world.supervisor, note="已解决")
    assert CaseStrategy.objects.get(pk=world.case.pk).rule_id != "hold"


@pytest.mark.django_db
def test_nightly_job_queues_once_per_day(world, settings, monkeypatch):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from qingshou.strategy import jobs, tasks

    queued = []
    monkeypatch.setattr("qingshou.core.tasks.enqueue_on_commit", lambda t, *a, **k: queued.append((t, a)))
    settings.STRATEGY_NIGHTLY_HOUR = 2
    tz = ZoneInfo("Asia/Shanghai")
    assert jobs.nightly(datetime(2026, 11, 18, 1, 0, tzinfo=tz))["queued"] is False      # too early
    assert jobs.nightly(datetime(2026, 11, 18, 10, 30, tzinfo=tz))["queued"] is False    # working day
    assert jobs.nightly(datetime(2026, 11, 18, 3, 0, tzinfo=tz))["queued"] is True
    assert queued == [(tasks.run_strategy_task, ("nightly",))]
    actions.run_strategy(now=datetime(2026, 11, 18, 3, 5, tzinfo=tz))
    assert jobs.nightly(datetime(2026, 11, 18, 3, 10, tzinfo=tz)) == {"queued": False, "why": "already ran"}


@pytest.mark.django_db
def test_experiment_results_per_arm(world):
    from qingshou.strategy.views import arm_results

    cases = [make_case(world.placement_a, collector=world.collector) for _ in range(12)]
    challenger = actions.do_save_draft(DEFAULT_RULES, acting_user=world.supervisor)
    exp = actions.do_start_experiment(challenger, share="0.5", name="试验", acting_user=world.supervisor)
    engine.evaluate_cases()
    arms = dict(CaseStrategy.objects.filter(case__in=cases).values_list("case_id", "arm"))
    paid = next(c for c in cases if arms[c.pk] == "challenger")
    do_record_payment(paid, amount=Decimal("300.00"), paid_at=timezone.now(), source_ref="EXP-1")
    results = {r["arm"]: r for r in arm_results(exp)}
    assert results["challenger"]["cases"] + results["champion"]["cases"] == CaseStrategy.objects.filter(
        experiment=exp).count()
    assert results["challenger"]["recovered"] == Decimal("300.00") and not results["champion"]["recovered"]
    assert results["challenger"]["per_case"] == Decimal("300.00") / results["challenger"]["cases"]


@pytest.mark.django_db
def test_run_report_page_and_run_now(world, client_for, monkeypatch):
    from qingshou.strategy import tasks

    make_case(world.placement_a)
    run, _ = actions.run_strategy(trigger="manual")
    html = client_for(world.leader).get(f"/strategy/runs/{run.pk}/").content.decode()
    assert "处置变化" in html and "c1" in html and "（新案件）" in html
    calls = []
    monkeypatch.setattr("qingshou.strategy.views.enqueue_on_commit", lambda *a, **k: calls.append(a))
    r = client_for(world.supervisor).post("/strategy/runs/now/")
    assert r.status_code == 302 and calls == [(tasks.run_strategy_task, "manual", world.supervisor.pk)]
    assert client_for(world.leader).post("/strategy/runs/now/").status_code == 403
    assert tasks.run_strategy_task.call("manual", world.supervisor.pk) == {
        "run": run.pk, "ran": False, "cases": run.cases, "assigned": run.assigned}   # same version, same day


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("processes", [1, 2])
def test_full_run_outside_a_transaction(monkeypatch, settings, processes):
    """Committed data, no surrounding transaction: on PostgreSQL the states go through the writer thread
    (and, with STRATEGY_RUN_PROCESSES=2, two forked processes)."""
    settings.STRATEGY_RUN_PROCESSES = processes
    from tests.factories import World

    w = World()
    for _ in range(4):
        make_case(w.placement_a, collector=w.collector)
    monkeypatch.setattr(engine, "COPY_MIN_ROWS", 1)
    result = engine.evaluate_cases(chunk=3)
    open_ids = set(Case.objects.filter(status__in=("active", "legal")).values_list("pk", flat=True))
    assert result.cases == len(open_ids) and set(CaseStrategy.objects.values_list("pk", flat=True)) == open_ids
    assert sum(result.by_rule.values()) == len(open_ids) == sum(result.moves[""].values())


@pytest.mark.django_db
def test_demo_hook_runs_once(world):
    from qingshou.strategy.demo import demo_strategy

    first = demo_strategy()
    assert first["ran"] and first["cases"] == CaseStrategy.objects.count() > 0
    assert demo_strategy()["ran"] is False
