"""Supervisor screens of the strategy: versions, draft editing, diff, publish, rollback, experiments, runs.

Team leaders may view; supervisors and admins edit (STRATEGY_VIEW / STRATEGY_EDIT roles). Refusals
are audited (core.views.deny). Views parse, authorise, call an action and render.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from qingshou.core.errors import ActionError
from qingshou.core.tasks import enqueue_on_commit
from qingshou.core.views import action_error_messages, deny, parse_pk
from qingshou.org.models import Role, User
from qingshou.strategy import actions
from qingshou.strategy.diff import diff_rules, fmt_value
from qingshou.strategy.facts import TREATMENTS
from qingshou.strategy.models import TREATMENT_LABELS, CaseStrategy, Experiment, StrategyRun, StrategyVersion
from qingshou.strategy.rules import condition_label, validate_rules

STRATEGY_VIEW = frozenset({Role.TEAM_LEADER, Role.SUPERVISOR, Role.ADMIN})
STRATEGY_EDIT = frozenset({Role.SUPERVISOR, Role.ADMIN})


def _allowed(request, roles, what):
    if not request.user.is_active or request.user.role not in roles:
        deny(request, what)


def can_edit(user) -> bool:
    return user.is_authenticated and user.is_active and user.role in STRATEGY_EDIT


def _version(pk) -> StrategyVersion:
    return get_object_or_404(StrategyVersion, pk=parse_pk(pk) or 0)


def _rule_rows(rules):
    rows = []
    for i, r in enumerate(rules if isinstance(rules, list) else [], start=1):
        if not isinstance(r, dict):
            continue
        when = r.get("when") if isinstance(r.get("when"), dict) else {}
        rows.append({"n": i, "id": r.get("id"), "label": r.get("label", ""), "treatment": r.get("treatment"),
                     "treatment_label": TREATMENT_LABELS.get(r.get("treatment"), r.get("treatment")),
                     "priority": r.get("priority"),
                     "when": [(condition_label(k), k, fmt_value(v)) for k, v in when.items()]})
    return rows


@login_required
@require_GET
def index(request):
    _allowed(request, STRATEGY_VIEW, "strategy.view")
    counts = dict(CaseStrategy.objects.values("treatment").annotate(n=Count("pk")).values_list("treatment", "n"))
    return render(request, "strategy/index.html", {
        "title": _("Strategy"), "versions": StrategyVersion.objects.select_related("author")[:50],
        "published": actions.ensure_default_strategy(), "can_edit": can_edit(request.user),
        "experiments": Experiment.objects.select_related("challenger")[:20],
        "runs": StrategyRun.objects.select_related("version")[:20],
        "treatments": [(TREATMENT_LABELS[t], counts.get(t, 0)) for t in TREATMENTS],
        "drafts": StrategyVersion.objects.filter(status="draft"),
        "running": Experiment.objects.filter(status=Experiment.Status.RUNNING).exists(),
    })


@login_required
@require_POST
def new_draft(request):
    _allowed(request, STRATEGY_EDIT, "strategy.edit")
    base = _version(request.POST.get("from")) if request.POST.get("from") else actions.ensure_default_strategy()
    v = actions.do_save_draft(base.rules, note=_("Draft from v%(n)s") % {"n": base.number},
                              acting_user=request.user, based_on=base)
    return redirect("strategy:version", pk=v.pk)


@login_required
@require_http_methods(["GET", "POST"])
def version(request, pk):
    _allowed(request, STRATEGY_VIEW if request.method == "GET" else STRATEGY_EDIT,
             "strategy.view" if request.method == "GET" else "strategy.edit")
    v = _version(pk)
    text = json.dumps(v.rules, ensure_ascii=False, indent=2)
    note = v.note
    errors: list[str] = []
    rules = v.rules
    if request.method == "POST":
        text, note = request.POST.get("rules", ""), request.POST.get("note", "")[:300]
        try:
            rules = json.loads(text)
        except ValueError as exc:
            errors = [_("The rules are not valid JSON: %(e)s") % {"e": exc}]
            rules = []
        else:
            errors = validate_rules(rules)
        if not errors:
            try:
                actions.do_save_draft(rules, note=note, acting_user=request.user, version=v)
            except ActionError as exc:
                errors = [m for ms in action_error_messages(exc).values() for m in ms]
            else:
                messages.success(request, _("Draft v%(n)s saved.") % {"n": v.number})
                return redirect("strategy:version", pk=v.pk)
    base = v.based_on or StrategyVersion.objects.filter(status="published").exclude(pk=v.pk).first()
    return render(request, "strategy/version.html", {
        "title": _("Strategy v%(n)s") % {"n": v.number}, "v": v, "text": text, "note": note, "errors": errors,
        "rows": _rule_rows(rules), "can_edit": can_edit(request.user), "base": base,
        "changes": diff_rules(base.rules, v.rules) if base else [],
        "treatment_choices": [(t, TREATMENT_LABELS[t]) for t in TREATMENTS],
    }, status=400 if errors else 200)


@login_required
@require_POST
def publish(request, pk):
    _allowed(request, STRATEGY_EDIT, "strategy.edit")
    v = _version(pk)
    try:
        actions.do_publish(v, acting_user=request.user)
    except ActionError as exc:
        for ms in action_error_messages(exc).values():
            for m in ms:
                messages.error(request, m)
        return redirect("strategy:version", pk=v.pk)
    messages.success(request, _("v%(n)s is now the published strategy. It applies from the next run.") % {
        "n": v.number})
    return redirect(f"{reverse('strategy:diff')}?a={v.based_on_id or ''}&b={v.pk}")


@login_required
@require_POST
def rollback(request, pk):
    _allowed(request, STRATEGY_EDIT, "strategy.edit")
    v = _version(pk)
    try:
        new = actions.do_rollback(v, acting_user=request.user, note=request.POST.get("note", ""))
    except ActionError as exc:
        for ms in action_error_messages(exc).values():
            for m in ms:
                messages.error(request, m)
        return redirect("strategy:index")
    messages.success(request, _("Rolled back: v%(new)s publishes the rules of v%(old)s.") % {
        "new": new.number, "old": v.number})
    return redirect("strategy:index")


@login_required
@require_GET
def diff(request):
    _allowed(request, STRATEGY_VIEW, "strategy.view")
    versions = list(StrategyVersion.objects.all())
    by_pk = {v.pk: v for v in versions}
    b = by_pk.get(parse_pk(request.GET.get("b"))) or (versions[0] if versions else None)
    a = by_pk.get(parse_pk(request.GET.get("a")))
    if a is None and b is not None:
        a = b.based_on or next((v for v in versions if v.number < b.number), None)
    changes = diff_rules(a.rules, b.rules) if a and b else []
    return render(request, "strategy/diff.html", {"title": _("Compare versions"), "a": a, "b": b,
                                                  "versions": versions, "changes": changes})


@login_required
@require_POST
def experiment_start(request):
    _allowed(request, STRATEGY_EDIT, "strategy.edit")
    v = _version(request.POST.get("challenger"))
    try:
        actions.do_start_experiment(v, share=request.POST.get("share", ""), name=request.POST.get("name", ""),
                                    acting_user=request.user)
    except ActionError as exc:
        for ms in action_error_messages(exc).values():
            for m in ms:
                messages.error(request, m)
    else:
        messages.success(request, _("Experiment started; it applies from the next run."))
    return redirect("strategy:index")


@login_required
@require_POST
def experiment_stop(request, pk):
    _allowed(request, STRATEGY_EDIT, "strategy.edit")
    exp = get_object_or_404(Experiment, pk=parse_pk(pk) or 0)
    try:
        actions.do_stop_experiment(exp, acting_user=request.user)
    except ActionError as exc:
        messages.error(request, str(exc.messages[0]))
    return redirect("strategy:experiment", pk=exp.pk)


def arm_results(exp: Experiment) -> list[dict]:
    """Per arm since the experiment started: cases, contacts, promises, kept rate, money recovered per case."""
    from qingshou.contact.models import ContactAttempt
    from qingshou.payments.models import Payment, Promise

    arm = "case__strategy__arm"
    scope = Q(case__strategy__experiment=exp)
    cases = dict(CaseStrategy.objects.filter(experiment=exp).values("arm").annotate(n=Count("pk"))
                 .values_list("arm", "n"))
    contacts = dict(ContactAttempt.objects.filter(scope, started_at__gte=exp.started_at).values(arm)
                    .annotate(n=Count("pk")).values_list(arm, "n"))
    promises = {r[arm]: r for r in Promise.objects.filter(scope, created_at__gte=exp.started_at).values(arm)
                .annotate(n=Count("pk"), kept=Count("pk", filter=Q(status="kept")),
                          resolved=Count("pk", filter=Q(status__in=("kept", "broken"))))}
    money = dict(Payment.objects.filter(scope, paid_at__gte=exp.started_at).values(arm).annotate(s=Sum("amount"))
                 .values_list(arm, "s"))
    out = []
    for name, label in (("champion", _("champion")), ("challenger", _("challenger"))):
        n = cases.get(name, 0)
        p = promises.get(name, {"n": 0, "kept": 0, "resolved": 0})
        out.append({"arm": name, "label": label, "cases": n, "contacts": contacts.get(name, 0), "promises": p["n"],
                    "kept_rate": (p["kept"] / p["resolved"]) if p["resolved"] else None,
                    "recovered": money.get(name) or 0, "per_case": ((money.get(name) or 0) / n) if n else None})
    return out


@login_required
@require_GET
def experiment(request, pk):
    _allowed(request, STRATEGY_VIEW, "strategy.view")
    exp = get_object_or_404(Experiment.objects.select_related("challenger"), pk=parse_pk(pk) or 0)
    return render(request, "strategy/experiment.html", {
        "title": exp.name, "exp": exp, "results": arm_results(exp), "can_edit": can_edit(request.user)})


@login_required
@require_POST
def run_now(request):
    _allowed(request, STRATEGY_EDIT, "strategy.edit")
    from qingshou.core.audit import audit
    from qingshou.strategy.tasks import run_strategy_task

    audit("strategy.run_requested", actor=request.user)
    enqueue_on_commit(run_strategy_task, "manual", request.user.pk)
    messages.success(request, _("The run is queued. If the published version already ran today, it will say so."))
    return redirect("strategy:index")


@login_required
@require_GET
def run(request, pk):
    _allowed(request, STRATEGY_VIEW, "strategy.view")
    r = get_object_or_404(StrategyRun.objects.select_related("version", "started_by"), pk=parse_pk(pk) or 0)
    moves = r.report.get("moves", {})
    sources = [t for t in ("", *TREATMENTS) if t in moves]
    matrix = [{"from": TREATMENT_LABELS.get(s, _("(new)")) if s else _("(new)"),
               "cells": [moves[s].get(t, 0) for t in TREATMENTS], "total": sum(moves[s].values())}
              for s in sources]
    before, after = r.report.get("workload_before", {}), r.report.get("workload_after", {})
    ids = {int(k) for k in (*before, *after)}
    names = {u.pk: u.label for u in User.objects.filter(pk__in=ids)}
    workload = sorted(({"name": names.get(int(k), k), "before": before.get(k, 0), "after": after.get(k, 0),
                        "delta": after.get(k, 0) - before.get(k, 0)} for k in {*before, *after}),
                      key=lambda w: str(w["name"]))
    return render(request, "strategy/run.html", {
        "title": _("Run report"), "r": r, "matrix": matrix, "columns": [TREATMENT_LABELS[t] for t in TREATMENTS],
        "workload": workload, "by_rule": sorted(r.report.get("by_rule", {}).items(), key=lambda kv: -kv[1])})
