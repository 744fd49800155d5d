"""The compliance officer's screens (decision log, refusals per rule per day, policy layers) and the
case page's contact pre-check.

Views parse, authorise (scoping + capabilities), call a service or action, and render.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_tables2 import RequestConfig

from qingshou.compliance import labels
from qingshou.compliance.filters import DecisionFilter
from qingshou.compliance.forms import PolicyLayerForm
from qingshou.compliance.models import PolicyLayerVersion
from qingshou.compliance.presets import PARAMETERS
from qingshou.compliance.reports import refusals_by_rule
from qingshou.compliance.tables import DecisionTable
from qingshou.core.errors import ActionError
from qingshou.core.scoping import can, get_visible_case, visible_cases, visible_decisions, workable_cases
from qingshou.core.views import action_error_messages, deny, parse_pk, require_capability

PER_PAGE = 50
PERIODS = (7, 30, 90)


# --- decision log ---------------------------------------------------------------------------------


@require_capability("compliance.view")
@require_GET
def decisions(request):
    scope = visible_decisions(request.user)
    filterset = DecisionFilter(request.GET or None, queryset=scope.select_related("requested_by"), request=request)
    table = DecisionTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    case_ids = {row.record.case_id for row in table.page.object_list} if table.page else set()
    table.case_links = dict(
        visible_cases(request.user).filter(pk__in=case_ids).values_list("pk", "account_number")
    )
    return render(request, "compliance/decisions.html", {
        "filter": filterset, "table": table, "title": _("Decision log"),
        "admin_view": request.user.role == "admin",
    })


# --- refusals per rule per day --------------------------------------------------------------------


@require_capability("compliance.view")
@require_GET
def refusals(request):
    days = parse_pk(request.GET.get("days")) or 30
    if days not in PERIODS:
        days = 30
    report = refusals_by_rule(days, visible_decisions(request.user))
    log = reverse("compliance:decisions")
    columns = [{"rule": r, "label": labels.rule_label(r), "total": report.rule_totals.get(r, 0)}
               for r in report.rules]
    rows = []
    for day, counts, total in report.rows():
        d = day.isoformat()
        cells = [{"n": n, "url": f"{log}?{urlencode({'allowed': '0', 'rule': r, 'date_from': d, 'date_to': d})}"}
                 for r, n in zip(report.rules, counts, strict=True)]
        rows.append({"day": day, "cells": cells, "total": total,
                     "url": f"{log}?{urlencode({'allowed': '0', 'date_from': d, 'date_to': d})}"})
    return render(request, "compliance/refusals.html", {
        "report": report, "columns": columns, "rows": rows, "days": days, "periods": PERIODS,
        "title": _("Refusals per rule per day"),
    })


# --- policy layers -------------------------------------------------------------------------------


def _published_layers():
    """The published version of every layer, presets first, then house, then creditors."""
    rows = list(PolicyLayerVersion.objects.filter(status=PolicyLayerVersion.Status.PUBLISHED)
                .select_related("creditor", "published_by"))
    order = {"preset": 0, "house": 1, "creditor": 2}
    rows.sort(key=lambda r: (order.get(r.kind, 3), r.name))
    return rows


@require_capability("compliance.view")
@require_GET
def policies(request):
    from qingshou.org.models import Creditor

    layers = _published_layers()
    params = [{"name": name, "label": labels.param_label(name), "description": labels.param_description(name),
               "merge": labels.merge_rule_text(name),
               "values": [labels.format_value(name, layer.params.get(name)) if name in layer.params else ""
                          for layer in layers]}
              for name in PARAMETERS]
    drafts = PolicyLayerVersion.objects.filter(status=PolicyLayerVersion.Status.DRAFT).count()
    with_layer = {r.creditor_id for r in PolicyLayerVersion.objects.filter(kind="creditor")}
    creditors_without = Creditor.objects.exclude(pk__in=with_layer).order_by("code") \
        if can(request.user, "compliance.edit") else []
    return render(request, "compliance/policies.html", {
        "layers": [{"row": r, "label": labels.layer_label(r.name), "kind": labels.LAYER_KIND_LABELS.get(r.kind, r.kind)}
                   for r in layers],
        "params": params, "drafts": drafts, "creditors_without": creditors_without,
        "can_edit": can(request.user, "compliance.edit"), "title": _("Policy layers"),
    })


def _layer_identity(name: str):
    """(kind, creditor) for a layer name; Http404 for a name that cannot be a layer."""
    from qingshou.org.models import Creditor

    existing = PolicyLayerVersion.objects.filter(name=name).select_related("creditor").order_by("-version").first()
    if existing is not None:
        return existing.kind, existing.creditor
    if name.startswith("creditor:"):
        creditor = Creditor.objects.filter(code=name.split(":", 1)[1]).first()
        if creditor is not None:
            return PolicyLayerVersion.Kind.CREDITOR, creditor
    raise Http404("no such policy layer")


def _is_list(name: str) -> bool:
    return PARAMETERS.get(name, ("",))[0] == "list"


def param_diff(old: dict, new: dict) -> list[dict]:
    """Parameter-level differences between two versions' params, in PARAMETERS order."""
    out = []
    names = list(PARAMETERS) + sorted(k for k in {*old, *new} if k not in PARAMETERS)
    for name in names:
        a, b = old.get(name), new.get(name)
        if name not in old and name not in new:
            continue
        if a == b or (_is_list(name) and isinstance(a, list) and isinstance(b, list) and set(a) == set(b)):
            continue                                   # list parameters are sets: order does not matter
        change = "added" if name not in old else "removed" if name not in new else "changed"
        row = {"name": name, "label": labels.param_label(name), "change": change,
               "old": labels.format_value(name, a) if name in old else "", "new": labels.format_value(name, b)
               if name in new else ""}
        if isinstance(a, list) and isinstance(b, list) and _is_list(name):
            row["added"] = [labels.element_label(name, v) for v in b if v not in a]
            row["removed"] = [labels.element_label(name, v) for v in a if v not in b]
        out.append(row)
    return out


@require_capability("compliance.view")
@require_http_methods(["GET", "POST"])
def policy_layer(request, name):
    from qingshou.compliance.actions import do_publish_policy_layer

    name = str(name)[:60]
    kind, creditor = _layer_identity(name)
    versions = list(PolicyLayerVersion.objects.filter(name=name).select_related("created_by", "published_by")
                    .order_by("-version"))
    by_version = {v.version: v for v in versions}
    published = next((v for v in versions if v.status == PolicyLayerVersion.Status.PUBLISHED), None)
    shown = by_version.get(parse_pk(request.GET.get("v"))) or published or (versions[0] if versions else None)
    can_edit = can(request.user, "compliance.edit")

    form = None
    if request.method == "POST":
        if not can_edit:
            deny(request, "compliance.edit", layer=name)
        form = PolicyLayerForm(request.POST, params=shown.params if shown else {})
        if form.is_valid():
            try:
                row = do_publish_policy_layer(kind=kind, name=name, creditor=creditor, params=form.params(),
                                              note=form.cleaned_data["note"], acting_user=request.user)
            except ActionError as exc:
                for key, msgs in action_error_messages(exc).items():
                    param = key.split(".", 1)[1] if key.startswith("params.") else None
                    for m in msgs:
                        if param:
                            form.add_param_error(param, m)
                        else:
                            form.add_error(None, m)
            else:
                messages.success(request, _("Version %(v)s of %(layer)s published; it applies from now.")
                                 % {"v": row.version, "layer": labels.layer_label(name)})
                return redirect("compliance:policy_layer", name=name)
    elif can_edit:
        form = PolicyLayerForm(params=published.params if published else (shown.params if shown else {}))

    # Diff: ?a=<version>&b=<version>; default: the shown version against the one before it.
    a = by_version.get(parse_pk(request.GET.get("a")))
    b = by_version.get(parse_pk(request.GET.get("b")))
    if a is None and b is None and shown is not None:
        b = shown
        a = next((v for v in versions if v.version < shown.version), None)
    diff = param_diff(a.params if a else {}, b.params if b else {}) if b is not None else []

    shown_params = [{"name": n, "label": labels.param_label(n), "description": labels.param_description(n),
                     "value": labels.format_value(n, shown.params.get(n))}
                    for n in PARAMETERS if shown is not None and n in shown.params]
    return render(request, "compliance/policy_layer.html", {
        "name": name, "label": labels.layer_label(name), "kind": labels.LAYER_KIND_LABELS.get(kind, kind),
        "creditor": creditor, "versions": versions, "published": published, "shown": shown,
        "shown_params": shown_params, "form": form, "can_edit": can_edit, "a": a, "b": b, "diff": diff,
        "title": labels.layer_label(name),
    })


# --- case page: contact pre-check -------------------------------------------------------------------


def _parse_at(raw) -> datetime | None:
    raw = (raw or "").strip()[:25]
    if not raw:
        return None
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            value = datetime.strptime(raw, fmt)
        except ValueError:
            continue
        if 2000 <= value.year <= 2999:
            return timezone.make_aware(value)
    return None


@login_required
@require_GET
def precheck(request, pk):
    """HTMX: may the collector contact this person on this number by this channel now? Read-only."""
    from qingshou.compliance.precheck import preview_contact
    from qingshou.contact.models import Channel
    from qingshou.portfolio.models import Party, Phone

    case = get_visible_case(request.user, pk)
    if not workable_cases(request.user).filter(pk=case.pk).exists():
        deny(request, "case.work", case_id=case.pk)
    party = Party.objects.filter(debtor_id=case.debtor_id, pk=parse_pk(request.GET.get("party"))).first()
    if party is None:
        party = Party.objects.filter(debtor_id=case.debtor_id, relation="self").order_by("pk").first()
    channel = request.GET.get("channel") or Channel.CALL
    if channel not in Channel.values:
        channel = Channel.CALL
    phone = None
    if party is not None:
        phone = Phone.objects.filter(party=party, pk=parse_pk(request.GET.get("phone"))).first()
    now = timezone.now()
    at = _parse_at(request.GET.get("started_at")) or now
    # A start time left in the past (the page was open a while, or a call being logged late) is
    # checked as given; one in the future is checked as given too (the log would refuse it anyway).
    ctx = {"case": case, "party": party, "phone": phone, "channel": channel, "at": at,
           "channel_label": labels.channel_label(channel),
           "at_is_now": abs((at - now).total_seconds()) < 600,
           "english": (get_language() or "").startswith("en")}
    if party is not None:
        ctx["decision"] = preview_contact(case, party=party, phone=phone, channel=channel, at=at,
                                          purpose=request.GET.get("purpose") or None, acting_user=request.user)
    return render(request, "compliance/_precheck.html", ctx)
