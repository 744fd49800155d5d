"""State changes of the strategy app: versions (draft, publish, roll back), experiments, runs, assignment.

Actions follow the project pattern (durable transaction, keyword-only acting_user, audit row). The
nightly run is not one transaction: it is claimed by a unique (version, business date) row, then works
in chunks that commit as they go, so a million cases never sit in one transaction.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.models import AuditLog
from qingshou.strategy.assignment import MODES, CaseToAssign, Slot, plan_assignment
from qingshou.strategy.models import (
    CollectorProfile,
    Experiment,
    StrategyRun,
    StrategyVersion,
    TeamCreditor,
)
from qingshou.strategy.rules import DEFAULT_RULES, validate_rules

logger = logging.getLogger("qingshou.strategy")
AUTO_ASSIGN_REASON = "strategy run"


def ensure_default_strategy() -> StrategyVersion:
    """The published version; seeds DEFAULT_RULES as version 1 when there is none (fresh or flushed DB)."""
    v = StrategyVersion.objects.filter(status=StrategyVersion.Status.PUBLISHED).first()
    if v is None:
        number = (StrategyVersion.objects.aggregate(m=Max("number"))["m"] or 0) + 1
        v = StrategyVersion.objects.create(number=number, rules=DEFAULT_RULES, status=StrategyVersion.Status.PUBLISHED,
                                           published_at=timezone.now(), note="出厂默认策略")
    return v


def _next_number() -> int:
    return (StrategyVersion.objects.select_for_update().aggregate(m=Max("number"))["m"] or 0) + 1


def _check_rules(rules) -> None:
    problems = validate_rules(rules)
    if problems:
        raise ActionError({"rules": problems})


@transaction.atomic(durable=True)
def do_save_draft(rules: list[dict], *, note: str = "", acting_user, version: StrategyVersion | None = None,
                  based_on: StrategyVersion | None = None) -> StrategyVersion:
    """Create a new draft (version None) or change an existing draft. Invalid rules are refused."""
    _check_rules(rules)
    if version is not None:
        version = StrategyVersion.objects.select_for_update().get(pk=version.pk)
        if version.status != StrategyVersion.Status.DRAFT:
            raise ActionError(_("Only a draft can be edited; start a new draft from it."))
        version.rules, version.note = rules, note[:300]
        version.save(update_fields=["rules", "note"])
    else:
        version = StrategyVersion.objects.create(number=_next_number(), rules=rules, note=note[:300],
                                                 author=acting_user, based_on=based_on)
    audit("strategy.draft", actor=acting_user, obj=version, reason=note, number=version.number, rules=len(rules))
    return version


def _publish(version: StrategyVersion, *, acting_user) -> StrategyVersion | None:
    previous = StrategyVersion.objects.select_for_update().filter(status=StrategyVersion.Status.PUBLISHED).first()
    if previous is not None:
        previous.status = StrategyVersion.Status.RETIRED
        previous.save(update_fields=["status"])
    version.status = StrategyVersion.Status.PUBLISHED
    version.published_at = timezone.now()
    version.save(update_fields=["status", "published_at"])
    return previous


@transaction.atomic(durable=True)
def do_publish(version: StrategyVersion, *, acting_user) -> StrategyVersion:
    version = StrategyVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != StrategyVersion.Status.DRAFT:
        raise ActionError(_("Only a draft can be published."))
    _check_rules(version.rules)
    if Experiment.objects.filter(status=Experiment.Status.RUNNING, challenger=version).exists():
        raise ActionError(_("This version is the challenger of a running experiment; stop the experiment first."))
    previous = _publish(version, acting_user=acting_user)
    audit("strategy.publish", actor=acting_user, obj=version, number=version.number,
          previous=previous.number if previous else None)
    return version


@transaction.atomic(durable=True)
def do_rollback(version: StrategyVersion, *, acting_user, note: str = "") -> StrategyVersion:
    """Publish an older version's rules again, as a new version number (history is never rewritten)."""
    version = StrategyVersion.objects.get(pk=version.pk)
    if version.status == StrategyVersion.Status.PUBLISHED:
        raise ActionError(_("This version is already the published one."))
    _check_rules(version.rules)
    new = StrategyVersion.objects.create(
        number=_next_number(), rules=version.rules, author=acting_user, based_on=version,
        note=(note or _("Rollback to v%(n)s") % {"n": version.number})[:300])
    previous = _publish(new, acting_user=acting_user)
    audit("strategy.rollback", actor=acting_user, obj=new, reason=note, number=new.number, to=version.number,
          previous=previous.number if previous else None)
    return new


@transaction.atomic(durable=True)
def do_start_experiment(challenger: StrategyVersion, *, share, name: str, acting_user) -> Experiment:
    try:
        share = Decimal(str(share))
    except InvalidOperation:
        share = Decimal("-1")
    if not Decimal("0.01") <= share <= Decimal("0.5"):
        raise ActionError({"share": _("The challenger share must be between 0.01 and 0.5.")})
    if challenger.status == StrategyVersion.Status.PUBLISHED:
        raise ActionError({"challenger": _("The challenger must differ from the published version.")})
    _check_rules(challenger.rules)
    if Experiment.objects.select_for_update().filter(status=Experiment.Status.RUNNING).exists():
        raise ActionError(_("An experiment is already running; stop it first."))
    exp = Experiment.objects.create(name=(name or f"v{challenger.number}")[:100], challenger=challenger,
                                    share=share, created_by=acting_user)
    audit("strategy.experiment_start", actor=acting_user, obj=exp, challenger=challenger.number, share=str(share))
    return exp


@transaction.atomic(durable=True)
def do_stop_experiment(exp: Experiment, *, acting_user) -> Experiment:
    n = Experiment.objects.filter(pk=exp.pk, status=Experiment.Status.RUNNING).update(
        status=Experiment.Status.STOPPED, stopped_at=timezone.now())
    if not n:
        raise ActionError(_("This experiment is not running."))
    audit("strategy.experiment_stop", actor=acting_user, obj=exp)
    exp.refresh_from_db()
    return exp


# --- assignment -----------------------------------------------------------------------------------


def open_workload(user_ids=None) -> dict[int, int]:
    from qingshou.portfolio.models import Case

    qs = Case.objects.filter(status__in=("active", "legal"), assigned_to__isnull=False)
    if user_ids is not None:
        qs = qs.filter(assigned_to_id__in=list(user_ids))
    return dict(qs.values("assigned_to_id").annotate(n=Count("id")).values_list("assigned_to_id", "n"))


def collector_slots(team_ids=None) -> list[Slot]:
    from qingshou.org.models import Role, User

    # Automatic 分案 goes to collectors only; team leaders take cases by hand (调案) if they want them.
    users = User.objects.filter(is_active=True, role=Role.COLLECTOR, team__isnull=False)
    if team_ids is not None:
        users = users.filter(team_id__in=list(team_ids))
    users = list(users.values_list("pk", "team_id", "is_senior"))
    profiles = {p.user_id: p for p in CollectorProfile.objects.filter(user_id__in=[u[0] for u in users])}
    load = open_workload([u[0] for u in users])
    senior_years = settings.STRATEGY_SENIOR_YEARS
    out = []
    for pk, team_id, is_senior in users:
        p = profiles.get(pk)
        out.append(Slot(
            user_id=pk, team_id=team_id, load=load.get(pk, 0),
            capacity=p.capacity if p else settings.STRATEGY_DEFAULT_CAPACITY,
            senior=bool(is_senior or (p and p.seniority >= senior_years)),
            regions=frozenset(p.regions) if p else frozenset(), skills=frozenset(p.skills) if p else frozenset()))
    return out


def team_creditor_map() -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for team_id, creditor_id in TeamCreditor.objects.values_list("team_id", "creditor_id"):
        out.setdefault(creditor_id, set()).add(team_id)
    return out


def auto_assign(*, acting_user=None, mode: str | None = None, case_filter: Q | None = None, now=None,
                reason: str = AUTO_ASSIGN_REASON) -> dict:
    """分案 of every unassigned open case (not on hold) by the configured mode. Returns counts.

    Writes per case: Case row, an Assignment row, an ASSIGNED timeline event and a `case.assign` audit
    row, all in one transaction per collector batch; a case assigned meanwhile by someone else is
    skipped (rows are locked and re-checked).
    """
    from qingshou.core.locking import lock_rows
    from qingshou.org.models import User
    from qingshou.portfolio import events
    from qingshou.portfolio.models import Assignment, Case, CaseHold

    mode = mode or settings.STRATEGY_ASSIGNMENT_MODE
    if mode not in MODES:
        raise ActionError({"mode": _("Unknown assignment mode.")})
    now = now or timezone.now()
    held = CaseHold.objects.filter(released_at__isnull=True).values("case_id")
    qs = Case.objects.filter(status="active", assigned_to__isnull=True).exclude(pk__in=held)
    if case_filter is not None:
        qs = qs.filter(case_filter)
    rows = list(qs.values_list("pk", "creditor_id", "total_due", "team_id", "debtor__region", "product"))
    if not rows:
        return {"assigned": 0, "unassigned": 0}
    previous = {}
    if mode == "sticky":
        ids = [r[0] for r in rows]
        for i in range(0, len(ids), 20000):
            for cid, uid in (Assignment.objects.filter(case_id__in=ids[i:i + 20000], from_user__isnull=False,
                                                       kind=Assignment.Kind.WITHDRAW)
                             .order_by("case_id", "at").values_list("case_id", "from_user_id")):
                previous[cid] = uid
    cases = [CaseToAssign(case_id=pk, creditor_id=cr, balance=float(total), team_id=team, region=region or "",
                          product=product, previous=previous.get(pk))
             for pk, cr, total, team, region, product in rows]
    plan = plan_assignment(cases, collector_slots(), mode=mode, large_balance=settings.STRATEGY_LARGE_BALANCE,
                           team_creditors=team_creditor_map())
    if connection.vendor == "postgresql":
        assigned = _apply_plan_pg(plan.assign, acting_user=acting_user, now=now, reason=reason, mode=mode)
        return {"assigned": assigned, "unassigned": len(plan.unassigned), "mode": mode}
    by_user: dict[int, list[int]] = {}
    for cid, uid in plan.assign.items():
        by_user.setdefault(uid, []).append(cid)
    users = User.objects.in_bulk(list(by_user))
    assigned = 0
    for uid, ids in by_user.items():
        user = users[uid]
        for i in range(0, len(ids), 5000):
            with transaction.atomic():
                locked = [c.pk for c in lock_rows(Case.objects.filter(pk__in=ids[i:i + 5000],
                                                                      assigned_to__isnull=True).only("pk"))]
                if not locked:
                    continue
                Case.objects.filter(pk__in=locked).update(assigned_to=user, team_id=user.team_id, assigned_at=now,
                                                          first_contact_at=None)
                Assignment.objects.bulk_create(
                    [Assignment(case_id=c, kind=Assignment.Kind.ASSIGN, to_user=user, team_id=user.team_id,
                                by=acting_user, reason=reason) for c in locked], batch_size=2000)
                events.cases_assigned_bulk(locked, to_user=user, user=acting_user, reason=reason, at=now)
                actor = acting_user if getattr(acting_user, "pk", None) else None
                AuditLog.objects.bulk_create(
                    [AuditLog(actor=actor, action="case.assign", object_type="portfolio.case", object_id=str(c),
                              case_id=c, reason=reason, data={"to": uid, "mode": mode}) for c in locked],
                    batch_size=2000)
                assigned += len(locked)
    return {"assigned": assigned, "unassigned": len(plan.unassigned), "mode": mode}


# The same rows as the ORM path (Case update, Assignment, the ASSIGNED event of
# portfolio.events.case_assigned / cases_assigned_bulk, a case.assign audit row), set-based: the plan goes
# into a temporary table by COPY, then one statement updates the cases that are still unassigned and
# inserts the three history rows for exactly those.
_ASSIGN_SQL = """
WITH upd AS (
    UPDATE portfolio_case c SET assigned_to_id = a.user_id, team_id = u.team_id, assigned_at = %(now)s,
           first_contact_at = NULL
    FROM _plan a JOIN org_user u ON u.id = a.user_id
    WHERE c.id = a.case_id AND c.assigned_to_id IS NULL
    RETURNING c.id AS case_id, a.user_id, u.team_id, COALESCE(NULLIF(u.display_name, ''), u.username) AS label
), ins_a AS (
    INSERT INTO portfolio_assignment (case_id, kind, from_user_id, to_user_id, team_id, at, by_id, reason)
    SELECT case_id, 'assign', NULL, user_id, team_id, %(now)s, %(actor)s, %(reason)s FROM upd
), ins_e AS (
    INSERT INTO portfolio_caseevent (case_id, type, user_id, at, data)
    SELECT case_id, 'assigned', %(actor)s, %(now)s, jsonb_build_object('to', label, 'reason', %(reason)s::text)
    FROM upd
), ins_l AS (
    INSERT INTO core_auditlog (at, actor_id, action, object_type, object_id, case_id, reason, data)
    SELECT %(now)s, %(actor)s, 'case.assign', 'portfolio.case', case_id::text, case_id, %(reason)s,
           jsonb_build_object('to', user_id, 'mode', %(mode)s::text)
    FROM upd
)
SELECT count(*) FROM upd
"""


def _apply_plan_pg(assign: dict[int, int], *, acting_user, now, reason, mode) -> int:
    if not assign:
        return 0
    actor = acting_user.pk if getattr(acting_user, "pk", None) else None
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS _plan (case_id bigint PRIMARY KEY, user_id bigint) "
                    "ON COMMIT DROP")
        with cur.cursor.copy("COPY _plan (case_id, user_id) FROM STDIN") as copy:
            copy.write("".join(f"{c}\t{u}\n" for c, u in assign.items()))
        cur.execute(_ASSIGN_SQL, {"now": now, "actor": actor, "reason": reason[:300], "mode": mode})
        return cur.fetchone()[0]


def first_call_overdue_count(now=None, team_ids=None) -> int:
    from qingshou.portfolio.models import Case

    cutoff = (now or timezone.now()) - timedelta(days=settings.FIRST_CALL_DAYS)
    qs = Case.objects.filter(status="active", assigned_to__isnull=False, first_contact_at__isnull=True,
                             assigned_at__lte=cutoff)
    if team_ids is not None:
        qs = qs.filter(team_id__in=list(team_ids))
    return qs.count()


# --- runs -----------------------------------------------------------------------------------------


def _claim_run(version, day, *, trigger, acting_user) -> tuple[StrategyRun, bool]:
    try:
        with transaction.atomic():
            return StrategyRun.objects.create(version=version, business_date=day, trigger=trigger,
                                              started_by=acting_user), True
    except IntegrityError:
        run = StrategyRun.objects.get(version=version, business_date=day)
        # A failed run may be retried; anything else is a no-op.
        if run.status == StrategyRun.Status.FAILED and StrategyRun.objects.filter(
                pk=run.pk, status=StrategyRun.Status.FAILED).update(status=StrategyRun.Status.RUNNING,
                                                                     trigger=trigger) == 1:
            run.refresh_from_db()
            return run, True
        return run, False


def run_strategy(*, now=None, acting_user=None, trigger: str = "nightly", assign: bool = True,
                 mode: str | None = None) -> tuple[StrategyRun, bool]:
    """Segment, score and (optionally) assign every open case, once per (published version, business date).

    Returns (run, ran). A second call for the same version and day returns the existing run and
    ran=False without touching any case.
    """
    from qingshou.strategy.engine import evaluate_cases

    now = now or timezone.now()
    day = timezone.localdate(now)
    version = ensure_default_strategy()
    run, claimed = _claim_run(version, day, trigger=trigger, acting_user=acting_user)
    if not claimed:
        return run, False
    t0 = time.perf_counter()
    try:
        before = open_workload()
        result = evaluate_cases(None, now=now)
        t_eval = time.perf_counter() - t0
        assigned = auto_assign(acting_user=acting_user, mode=mode, now=now) if assign else {"assigned": 0}
        after = open_workload()
    except Exception:
        StrategyRun.objects.filter(pk=run.pk).update(status=StrategyRun.Status.FAILED, finished_at=timezone.now())
        logger.exception("strategy run %s failed", run.pk)
        raise
    overdue = first_call_overdue_count(now)
    report = result.as_report()
    report.update({
        "workload_before": {str(k): v for k, v in before.items()},
        "workload_after": {str(k): v for k, v in after.items()},
        "unassigned": assigned.get("unassigned", 0), "mode": assigned.get("mode", ""),
        "seconds_evaluate": round(t_eval, 3),
    })
    StrategyRun.objects.filter(pk=run.pk).update(
        status=StrategyRun.Status.DONE, finished_at=timezone.now(), cases=result.cases,
        assigned=assigned["assigned"], first_call_overdue=overdue, seconds=time.perf_counter() - t0, report=report)
    audit("strategy.run", actor=acting_user, obj=run, version=version.number, day=day, cases=result.cases,
          assigned=assigned["assigned"], trigger=trigger)
    run.refresh_from_db()
    return run, True


def treatment_counts() -> Counter:
    from qingshou.strategy.models import CaseStrategy

    return Counter(dict(CaseStrategy.objects.values("treatment").annotate(n=Count("pk"))
                        .values_list("treatment", "n")))
