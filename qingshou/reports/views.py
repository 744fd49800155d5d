"""The team leader's page: today's figures, the team's cases, bulk reassignment and withdrawal."""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from qingshou.core.errors import ActionError
from qingshou.core.scoping import assignable_collectors, can, visible_cases, visible_teams
from qingshou.core.views import (
    SafeModelChoiceMixin,
    action_error_messages,
    deny,
    parse_pk,
    require_capability,
)
from qingshou.portfolio.actions import do_reassign_cases, do_withdraw_cases
from qingshou.portfolio.filters import CaseFilter
from qingshou.portfolio.tables import TeamCaseTable
from qingshou.portfolio.views import table_page, with_list_columns
from qingshou.reports.figures import team_figures
from qingshou.strategy.queue import annotate_priority


class CollectorChoiceField(SafeModelChoiceMixin, forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.label}（{obj.team.name if obj.team_id else '—'}）"


class BulkForm(forms.Form):
    op = forms.ChoiceField(
        choices=[
            ("reassign", gettext_lazy("Reassign to")),
            ("withdraw", gettext_lazy("Withdraw (back to team pool)")),
        ],
        label=gettext_lazy("Action"),
        initial="reassign",
    )
    to_user = CollectorChoiceField(
        queryset=None, required=False, label=gettext_lazy("Collector"), empty_label=gettext_lazy("— choose —")
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300, required=True)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = (
            assignable_collectors(user).select_related("team").order_by("username")
        )

    def clean(self):
        cd = super().clean()
        if cd.get("op") == "reassign" and not cd.get("to_user"):
            self.add_error("to_user", _("Choose the collector to receive the cases."))
        return cd


def _parse_day(raw) -> date:
    today = timezone.localdate()
    try:
        day = date.fromisoformat(str(raw)[:10]) if raw else today
    except (TypeError, ValueError):
        return today
    return day if 2000 <= day.year <= 9000 else today


@require_capability("team.figures")
@require_http_methods(["GET", "POST"])
def team(request):
    user = request.user
    teams = list(visible_teams(user).select_related("branch"))
    if not teams:
        return render(request, "reports/team.html", {"teams": [], "title": _("Team")})
    selected = teams[0]
    raw_team = request.POST.get("team") if request.method == "POST" else request.GET.get("team")
    if raw_team:
        selected = next((t for t in teams if str(t.pk) == str(raw_team)), None)
        if selected is None:
            deny(request, "team.figures", team=str(raw_team)[:20])
    day = _parse_day(request.GET.get("day"))

    bulk = BulkForm(request.POST or None, user=user)
    if request.method == "POST":
        if not can(user, "case.reassign"):
            deny(request, "case.reassign")
        raw_ids = request.POST.getlist("case_ids")
        ids = [pk for pk in map(parse_pk, raw_ids[:5000]) if pk is not None]
        scoped = list(visible_cases(user).filter(team=selected, pk__in=ids).values_list("pk", flat=True))
        if not scoped:
            bulk.is_valid()
            bulk.add_error(None, _("Select at least one case."))
        elif bulk.is_valid():
            cd = bulk.cleaned_data
            try:
                if cd["op"] == "reassign":
                    n = do_reassign_cases(scoped, cd["to_user"], acting_user=user, reason=cd["reason"])
                    messages.success(
                        request,
                        _("%(n)s case(s) reassigned to %(to)s.") % {"n": n, "to": cd["to_user"].label},
                    )
                else:
                    n = do_withdraw_cases(scoped, acting_user=user, reason=cd["reason"])
                    messages.success(request, _("%(n)s case(s) withdrawn.") % {"n": n})
                return redirect(f"{request.path}?team={selected.pk}")
            except ActionError as exc:
                for field, msgs in action_error_messages(exc).items():
                    for m in msgs:
                        bulk.add_error(field if field in bulk.fields else None, m)

    qs = with_list_columns(annotate_priority(visible_cases(user).filter(team=selected)))
    qs = qs.order_by("priority", "-total_due", "pk")
    filterset = CaseFilter(request.GET or None, queryset=qs, request=request)
    table = table_page(request, TeamCaseTable, filterset)
    return render(
        request,
        "reports/team.html",
        {
            "teams": teams,
            "team": selected,
            "figures": team_figures(selected, day),
            "day": day,
            "today": timezone.localdate(),
            "filter": filterset,
            "table": table,
            "bulk": bulk,
            "can_reassign": can(user, "case.reassign"),
            "title": _("Team"),
            "keep": {"team": selected.pk},
        },
    )
