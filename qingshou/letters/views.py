"""Letter pages: batches (segment -> background rendering, with progress), one letter's PDF, the dispatch
register (edit one row, import tracking numbers from a CSV). Views parse, authorise, call an action, render."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.scoping import visible_cases
from qingshou.core.views import action_error_messages, deny, parse_pk
from qingshou.letters import actions
from qingshou.letters.models import Letter, LetterBatch, LetterKind
from qingshou.portfolio.models import Bucket, CaseStatus

PER_PAGE = 50


def _require_manager(request):
    if not actions.can_manage_letters(request.user):
        deny(request, "letters.manage")


def visible_batches(user):
    if not actions.can_manage_letters(user):
        return LetterBatch.objects.none()
    scope = visible_cases(user).values("pk")
    return LetterBatch.objects.filter(Q(created_by=user) | Q(letters__case__in=scope)).distinct()


def _get_batch(user, pk) -> LetterBatch:
    batch = visible_batches(user).filter(pk=parse_pk(pk) or 0).select_related(
        "template_version__template__creditor", "created_by").first()
    if batch is None:
        raise Http404("no such batch")
    return batch


def _get_letter(user, pk) -> Letter:
    letter = actions.visible_letters(user).filter(pk=parse_pk(pk) or 0).select_related(
        "case", "batch", "address", "party").first()
    if letter is None:
        raise Http404("no such letter")
    return letter


def _templates_for(user):
    from qingshou.messaging.models import TemplateVersion

    kinds = [k for k in LetterKind.values if actions.can_make(user, k)]
    creditors = visible_cases(user).values("creditor_id")
    return (TemplateVersion.objects.select_related("template__creditor")
            .filter(template__kind__in=kinds, template__creditor_id__in=creditors,
                    status=TemplateVersion.Status.APPROVED, active=True)
            .order_by("template__creditor__code", "template__kind", "template__code"))


def _int(value, default=None):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def segment(user, version, params) -> tuple[list[int], dict]:
    """The cases a batch covers: the template's creditor, in the user's scope, narrowed by the filters."""
    qs = visible_cases(user).filter(creditor_id=version.template.creditor_id)
    status = params.get("status") or (CaseStatus.LEGAL if version.template.kind == LetterKind.LAWYER_LETTER
                                      else CaseStatus.ACTIVE)
    criteria = {"creditor": version.template.creditor.code, "status": status}
    if status in CaseStatus.values:
        qs = qs.filter(status=status)
    buckets = [b for b in params.getlist("bucket") if b in Bucket.values] if hasattr(params, "getlist") else []
    if buckets:
        qs = qs.filter(bucket__in=buckets)
        criteria["bucket"] = buckets
    dpd_min, dpd_max = _int(params.get("dpd_min")), _int(params.get("dpd_max"))
    if dpd_min is not None:
        qs = qs.filter(dpd__gte=dpd_min)
        criteria["dpd_min"] = dpd_min
    if dpd_max is not None:
        qs = qs.filter(dpd__lte=dpd_max)
        criteria["dpd_max"] = dpd_max
    try:
        min_balance = Decimal(str(params.get("min_balance") or "").strip()) if params.get("min_balance") else None
    except InvalidOperation:
        min_balance = None
    if min_balance is not None:
        qs = qs.filter(total_due__gte=min_balance)
        criteria["min_balance"] = str(min_balance)
    ids = [parse_pk(x) for x in (params.getlist("case_ids") if hasattr(params, "getlist") else [])]
    ids = [i for i in ids if i]
    if ids:
        qs = qs.filter(pk__in=ids)
        criteria["case_ids"] = len(ids)
    return list(qs.values_list("pk", flat=True)[: actions.MAX_BATCH + 1]), criteria


@login_required
@require_http_methods(["GET", "POST"])
def index(request):
    _require_manager(request)
    templates = list(_templates_for(request.user))
    errors = {}
    if request.method == "POST":
        version = next((v for v in templates if v.pk == parse_pk(request.POST.get("template"))), None)
        if version is None:
            errors = {"template": [_("Choose an approved letter template.")]}
        else:
            ids, criteria = segment(request.user, version, request.POST)
            try:
                batch = actions.do_create_letter_batch(ids, kind=version.template.kind, version=version,
                                                       acting_user=request.user, criteria=criteria)
            except ActionError as exc:
                errors = action_error_messages(exc)
            else:
                messages.success(request, _("Batch created: %(n)s case(s). The letters are being generated.") % {
                    "n": batch.total})
                return redirect("letters:batch", pk=batch.pk)
    batches = visible_batches(request.user).select_related("template_version__template__creditor", "created_by")
    return render(request, "letters/index.html", {
        "title": _("Letters"), "templates": templates, "batches": batches[:50], "errors": errors,
        "buckets": Bucket.values, "statuses": CaseStatus.choices, "post": request.POST,
    })


@login_required
@require_GET
def batch_detail(request, pk):
    _require_manager(request)
    batch = _get_batch(request.user, pk)
    letters = actions.visible_letters(request.user).filter(batch=batch).select_related(
        "case", "party", "address").order_by("status", "id")
    status = request.GET.get("status")
    if status in Letter.Status.values:
        letters = letters.filter(status=status)
    page = Paginator(letters, PER_PAGE).get_page(request.GET.get("page"))
    progress = actions.batch_progress(batch)
    template = "letters/_progress.html" if request.htmx else "letters/batch.html"
    return render(request, template, {"title": _("Letter batch %(n)s") % {"n": batch.pk}, "batch": batch,
                                      "page": page, "progress": progress, "status": status})


@login_required
@require_GET
def letter_pdf(request, pk):
    _require_manager(request)
    letter = _get_letter(request.user, pk)
    if letter.status != Letter.Status.GENERATED or not letter.pdf:
        raise Http404("no PDF")
    audit("letter.download", actor=request.user, obj=letter, case_id=letter.case_id)
    return FileResponse(letter.pdf.open("rb"), content_type="application/pdf",
                        filename=f"L{letter.batch_id:05d}-{letter.case_id}.pdf")


@login_required
@require_GET
def register(request):
    _require_manager(request)
    letters = actions.visible_letters(request.user).filter(status=Letter.Status.GENERATED).select_related(
        "case", "party", "address", "batch").order_by("-batch_id", "id")
    f = {"dispatch": request.GET.get("dispatch", ""), "batch": parse_pk(request.GET.get("batch")),
         "q": (request.GET.get("q") or "").strip()[:40]}
    if f["dispatch"] in Letter.Dispatch.values:
        letters = letters.filter(dispatch_status=f["dispatch"])
    if f["batch"]:
        letters = letters.filter(batch_id=f["batch"])
    if f["q"]:
        letters = letters.filter(Q(tracking_number=f["q"]) | Q(case__account_number=f["q"]))
    page = Paginator(letters, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "letters/register.html", {"title": _("Dispatch register"), "page": page, "f": f,
                                                     "dispatch_choices": Letter.Dispatch.choices})


@login_required
@require_http_methods(["GET", "POST"])
def dispatch(request, pk):
    _require_manager(request)
    letter = _get_letter(request.user, pk)
    errors = {}
    if request.method == "POST":
        raw_date = (request.POST.get("sent_on") or "").strip()
        try:
            sent_on = date.fromisoformat(raw_date) if raw_date else None
        except ValueError:
            sent_on = None
            errors = {"sent_on": [_("Invalid date: use YYYY-MM-DD.")]}
        if not errors:
            try:
                actions.do_update_dispatch(letter, acting_user=request.user, status=request.POST.get("status", ""),
                                           sent_on=sent_on, carrier=request.POST.get("carrier", ""),
                                           tracking_number=request.POST.get("tracking_number", ""),
                                           note=request.POST.get("note", ""))
            except ActionError as exc:
                errors = action_error_messages(exc)
            else:
                messages.success(request, _("Dispatch record saved."))
                return redirect("letters:register")
    return render(request, "letters/dispatch.html", {"title": _("Dispatch record"), "letter": letter,
                                                     "errors": errors, "post": request.POST,
                                                     "dispatch_choices": Letter.Dispatch.choices})


@login_required
@require_http_methods(["GET", "POST"])
def import_tracking(request):
    _require_manager(request)
    result, errors = None, {}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors = {"file": [_("Choose a CSV file.")]}
        elif upload.size > 5 * 1024 * 1024:
            errors = {"file": [_("The file is larger than 5 MB.")]}
        else:
            try:
                result = actions.do_import_tracking(upload.read(), acting_user=request.user, file_name=upload.name)
            except ActionError as exc:
                errors = action_error_messages(exc)
            else:
                if not result.errors:
                    messages.success(request, _("%(n)s dispatch record(s) updated.") % {"n": result.updated})
                    return redirect("letters:register")
    return render(request, "letters/import.html", {"title": _("Import tracking numbers"), "result": result,
                                                   "errors": errors})
