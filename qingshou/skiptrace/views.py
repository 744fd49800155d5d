"""Skip-tracing pages: the lost-contact work list, a case's leads, the report and the enrichment import."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Max, Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from qingshou.core.errors import ActionError
from qingshou.core.scoping import get_visible_case, visible_cases, workable_cases
from qingshou.core.views import action_error_messages, deny, parse_pk, require_capability
from qingshou.portfolio.models import Phone, Verification
from qingshou.skiptrace.actions import do_add_lead, do_verify_lead
from qingshou.skiptrace.enrichment import do_import_enrichment
from qingshou.skiptrace.forms import EnrichmentUploadForm, LeadForm
from qingshou.skiptrace.models import EnrichmentImport, Lead, LostContact
from qingshou.skiptrace.reports import recontact_by_source

PER_PAGE = 50
# ActionError fields of add_lead -> the form's fields.
FIELD_MAP = {"number": "value", "address_text": "value", "employer": "value", "new_relation": "new_party_relation"}


def _workable_case(request, pk):
    case = get_visible_case(request.user, pk)
    if not workable_cases(request.user).filter(pk=case.pk).exists():
        deny(request, "case.work", case_id=case.pk)
    return case


def _next_url(request, default: str) -> str:
    nxt = request.POST.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}, require_https=False):
        return nxt
    return default


@require_capability("case.work")
@require_GET
def worklist(request):
    """失联 work list: the user's lost-contact cases, oldest first, with what was tried."""
    flags = (LostContact.objects.filter(cleared_at__isnull=True, case__in=workable_cases(request.user).values("pk"))
             .select_related("case__debtor", "case__assigned_to", "case__creditor")
             .prefetch_related("case__debtor__parties")
             .annotate(n_leads=Count("case__leads", distinct=True), last_lead=Max("case__leads__found_at"))
             .order_by("since", "pk"))
    page = Paginator(flags, PER_PAGE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = []
    for flag in page.object_list:
        rows.append({"flag": flag, "case": flag.case, "days": (now - flag.since).days,
                     "form": LeadForm(case=flag.case, prefix=f"c{flag.case_id}")})
    return render(request, "skiptrace/worklist.html", {
        "page": page, "rows": rows, "total": page.paginator.count, "title": _("Lost contact"),
    })


def _case_page(request, case, form=None, status=200):
    leads = (Lead.objects.filter(case=case).select_related("phone", "address", "party", "found_by", "verified_by")
             .order_by("-found_at", "-pk"))
    flags = LostContact.objects.filter(case=case).order_by("-since")
    parties = case.debtor.parties.prefetch_related(Prefetch("phones", queryset=Phone.objects.order_by("id")))
    return render(request, "skiptrace/case.html", {
        "case": case, "leads": leads, "flags": flags, "open_flag": next((f for f in flags if f.is_open), None),
        "parties": parties, "form": form or LeadForm(case=case), "verifications": Verification.choices,
        "title": _("Skip tracing") + " · " + case.account_number,
    }, status=status)


@login_required
@require_GET
def case_leads(request, pk):
    return _case_page(request, _workable_case(request, pk))


@login_required
@require_POST
def add_lead(request, pk):
    case = _workable_case(request, pk)
    prefix = request.POST.get("prefix") or None
    form = LeadForm(request.POST, case=case, prefix=prefix)
    if form.is_valid():
        try:
            lead = do_add_lead(case, acting_user=request.user, **form.lead_kwargs())
        except ActionError as exc:
            for field, msgs in action_error_messages(exc).items():
                target = FIELD_MAP.get(field, field)
                for msg in msgs:
                    form.add_error(target if target in form.fields else None, msg)
        else:
            if lead.flag_id and LostContact.objects.filter(pk=lead.flag_id, cleared_at__isnull=False).exists():
                messages.success(request, _("Recorded; the case is no longer lost-contact."))
            else:
                messages.success(request, _("Recorded."))
            return redirect(_next_url(request, reverse("skiptrace:case", args=[case.pk])))
    # Show the errors on the case's own page, with an unprefixed copy of what was entered.
    data = {k.removeprefix(f"{prefix}-") if prefix else k: v for k, v in request.POST.items()}
    shown = LeadForm(data, case=case)
    shown.is_valid()
    for field, errs in form.errors.items():
        for e in errs:
            if e not in shown.errors.get(field, []):
                shown.add_error(field if field in shown.fields else None, e)
    return _case_page(request, case, form=shown, status=200)


@login_required
@require_POST
def verify_lead(request, pk):
    lead_pk = parse_pk(pk)
    lead = Lead.objects.filter(pk=lead_pk).first() if lead_pk else None
    if lead is None:
        raise Http404("no such lead")
    case = _workable_case(request, lead.case_id)
    try:
        do_verify_lead(lead, request.POST.get("verification", ""), acting_user=request.user)
    except ActionError as exc:
        for msgs in action_error_messages(exc).values():
            for msg in msgs:
                messages.error(request, msg)
    else:
        messages.success(request, _("Verification saved."))
    return redirect(_next_url(request, reverse("skiptrace:case", args=[case.pk])))


@require_capability("team.figures")
@require_GET
def report(request):
    data = recontact_by_source(visible_cases(request.user))
    return render(request, "skiptrace/report.html", {**data, "title": _("Re-contact by source")})


@require_capability("intake.manage")
@require_http_methods(["GET", "POST"])
def enrichment_upload(request):
    form = EnrichmentUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            imp = do_import_enrichment(upload, creditor=form.cleaned_data["creditor"], acting_user=request.user,
                                       file_name=upload.name)
        except ActionError as exc:
            for msgs in action_error_messages(exc).values():
                for msg in msgs:
                    form.add_error("file", msg)
        else:
            return redirect("skiptrace:import_detail", pk=imp.pk)
    recent = EnrichmentImport.objects.select_related("creditor", "created_by")[:20]
    return render(request, "skiptrace/import.html", {"form": form, "recent": recent,
                                                     "title": _("Enrichment files")})


@require_capability("intake.manage")
@require_GET
def enrichment_detail(request, pk):
    imp = EnrichmentImport.objects.select_related("creditor", "created_by").filter(pk=pk).first()
    if imp is None:
        raise Http404("no such import")
    return render(request, "skiptrace/import_detail.html", {"imp": imp, "title": _("Enrichment file")})
