"""Supervisor page of the propensity model: versions with their holdout metrics, activate or switch off.

Supervisors and admins only; refusals are audited (core.views.deny).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from qingshou.core.errors import ActionError
from qingshou.core.views import action_error_messages, deny, parse_pk
from qingshou.org.models import Role
from qingshou.propensity import actions
from qingshou.propensity.models import ScoreModel
from qingshou.propensity.score import FEATURE_NAMES

MODEL_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


def _allowed(request, what):
    if not request.user.is_active or request.user.role not in MODEL_ROLES:
        deny(request, what)


def _errors(request, exc):
    for ms in action_error_messages(exc).values():
        for m in ms:
            messages.error(request, m)


@login_required
@require_GET
def index(request):
    _allowed(request, "propensity.view")
    rows = ScoreModel.objects.select_related("trained_by").defer("blob")[:50]
    return render(request, "propensity/index.html", {
        "title": _("Propensity model"), "models": rows, "active": next((m for m in rows if m.active), None),
        "features": FEATURE_NAMES,
    })


@login_required
@require_GET
def detail(request, pk):
    _allowed(request, "propensity.view")
    m = get_object_or_404(ScoreModel.objects.defer("blob"), pk=parse_pk(pk) or 0)
    return render(request, "propensity/detail.html", {
        "title": _("Model v%(v)s") % {"v": m.version}, "m": m, "h": m.metrics.get("holdout", {}),
        "cv": m.metrics.get("call_value")})


@login_required
@require_POST
def activate(request, pk):
    _allowed(request, "propensity.activate")
    m = get_object_or_404(ScoreModel.objects.defer("blob"), pk=parse_pk(pk) or 0)
    try:
        actions.do_activate_model(m, acting_user=request.user)
    except ActionError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("Model v%(v)s is now active; scores use it from the next strategy run.") % {
            "v": m.version})
    return redirect("propensity:index")


@login_required
@require_POST
def deactivate(request):
    _allowed(request, "propensity.activate")
    try:
        actions.do_deactivate_models(acting_user=request.user)
    except ActionError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("No model is active: scores use the transparent rules score."))
    return redirect("propensity:index")
