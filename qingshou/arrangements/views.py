"""Pages of the arrangements app: the case card and calculator, plan and offer pages, approvals, creditor terms.

Views parse, authorise, call an action and render. Every read starts from the user's visible cases;
every refusal is a 404 outside the scope or an audited 403 inside it.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from qingshou.arrangements import actions, calc
from qingshou.arrangements.forms import OfferForm, PlanForm, ReviewForm, TermsForm
from qingshou.arrangements.models import Offer, RepaymentPlan
from qingshou.arrangements.scoping import get_or_404, visible_offers, visible_plans
from qingshou.arrangements.terms import current_terms
from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.scoping import can, get_visible_case, visible_cases, workable_cases
from qingshou.core.views import action_error_messages, add_action_errors, deny, require_capability
from qingshou.org.models import Creditor, Role


def _may_work(user, case) -> bool:
    return workable_cases(user).filter(pk=case.pk).exists()


def _require_work(request, case):
    if not _may_work(request.user, case):
        deny(request, "case.work", case_id=case.pk)


def _flash(request, exc: ActionError):
    for msgs in action_error_messages(exc).values():
        for m in msgs:
            messages.error(request, m)


def _may_review(user, obj) -> bool:
    try:
        actions.check_reviewer(obj.case, obj.status, user)
    except ActionError:
        return False
    return True


# --- the case card and the calculator ---------------------------------------------------------------


@login_required
@require_GET
def case_card(request, pk):
    """HTMX: the case page's card of plans and offers."""
    case = get_visible_case(request.user, pk)
    offers = list(case.offers.select_related("proposed_by")[:5])
    for o in offers:
        o.communicable = actions.can_communicate(o)
    return render(request, "arrangements/_case_card.html", {
        "case": case, "plans": case.plans.select_related("proposed_by")[:5], "offers": offers,
        "may_work": _may_work(request.user, case) and case.status == "active",
    })


def _schedule_for(case, data):
    form = PlanForm(data, case=case)
    form.fields["hardship_reason"].required = False
    if not form.is_valid():
        return form, None
    d = form.cleaned_data
    sched = calc.schedule(calc.Balance.of(case), instalments=d["instalments"], first_payment=d["first_payment"],
                          start_date=d["start_date"], terms=current_terms(case.creditor_id),
                          today=timezone.localdate())
    return form, sched


@login_required
@require_GET
def plan_preview(request, pk):
    """HTMX: the schedule for the calculator's current values, with the creditor's limits checked."""
    case = get_visible_case(request.user, pk)
    _require_work(request, case)
    form, sched = _schedule_for(case, request.GET)
    return render(request, "arrangements/_schedule.html", {"case": case, "form": form, "sched": sched,
                                                           "terms": current_terms(case.creditor_id)})


@login_required
@require_http_methods(["GET", "POST"])
def plan_new(request, pk):
    case = get_visible_case(request.user, pk)
    _require_work(request, case)
    terms = current_terms(case.creditor_id)
    if request.method == "POST":
        form = PlanForm(request.POST, request.FILES, case=case)
        if form.is_valid():
            d = form.cleaned_data
            try:
                plan = actions.do_propose_plan(
                    case, instalments=d["instalments"], first_payment=d["first_payment"],
                    start_date=d["start_date"], hardship_reason=d["hardship_reason"],
                    hardship_detail=d["hardship_detail"], note=d["note"], acting_user=request.user,
                    documents=[d["document"]] if d.get("document") else [])
            except ActionError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("Plan proposed; it now awaits the team leader."))
                return redirect("arrangements:plan", pk=plan.pk)
        _f, sched = _schedule_for(case, request.POST)
    else:
        form = PlanForm(case=case)
        _f, sched = _schedule_for(case, {k: form.initial.get(k) or form.fields[k].initial
                                         for k in ("instalments", "first_payment", "start_date")})
    return render(request, "arrangements/plan_new.html", {
        "title": _("Propose a repayment plan"), "case": case, "form": form, "sched": sched, "terms": terms,
    })


# --- plans ------------------------------------------------------------------------------------------


@login_required
@require_GET
def plan_detail(request, pk):
    plan = get_or_404(visible_plans(request.user), pk)
    case = plan.case
    return render(request, "arrangements/plan_detail.html", {
        "title": _("Repayment plan #%(n)s") % {"n": plan.pk}, "plan": plan, "case": case,
        "schedule": plan.schedule.all(), "steps": plan.steps.select_related("user"),
        "documents": plan.documents.all(), "may_review": _may_review(request.user, plan),
        "may_work": _may_work(request.user, case) and plan.status in RepaymentPlan.OPEN,
        "today": timezone.localdate(),
    })


def _review(request, obj, action, url_name):
    if not (can(request.user, "arrangement.review") or can(request.user, "arrangement.approve")):
        deny(request, "arrangement.review", case_id=obj.case_id)
    if obj.status in (RepaymentPlan.Status.PENDING_LEADER, RepaymentPlan.Status.PENDING_CREDITOR) and not _may_review(
            request.user, obj):
        deny(request, "arrangement.stage", case_id=obj.case_id)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
        return redirect(url_name, pk=obj.pk)
    try:
        action(obj, approve=form.cleaned_data["op"] == "approve", comment=form.cleaned_data["comment"],
               acting_user=request.user)
    except ActionError as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("Decision recorded."))
    if request.user.role == Role.CREDITOR or request.POST.get("next") == "approvals":
        return redirect("arrangements:approvals")
    return redirect(url_name, pk=obj.pk)


@login_required
@require_POST
def plan_review(request, pk):
    return _review(request, get_or_404(visible_plans(request.user), pk), actions.do_review_plan,
                   "arrangements:plan")


@login_required
@require_POST
def plan_document(request, pk):
    plan = get_or_404(visible_plans(request.user), pk)
    _require_work(request, plan.case)
    upload = request.FILES.get("document")
    if upload is None:
        messages.error(request, _("Choose a file."))
    else:
        try:
            actions.do_add_plan_document(plan, file=upload, acting_user=request.user)
        except ActionError as exc:
            _flash(request, exc)
        else:
            messages.success(request, _("Document added."))
    return redirect("arrangements:plan", pk=plan.pk)


@login_required
@require_GET
def plan_document_file(request, pk, doc):
    plan = get_or_404(visible_plans(request.user), pk)
    document = get_object_or_404(plan.documents, pk=doc)
    audit("plan.document_view", actor=request.user, obj=document, case_id=plan.case_id)
    return FileResponse(document.file.open("rb"), as_attachment=True, filename=document.name)


@login_required
@require_POST
def plan_cancel(request, pk):
    plan = get_or_404(visible_plans(request.user), pk)
    _require_work(request, plan.case)
    try:
        actions.do_cancel_plan(plan, acting_user=request.user, reason=request.POST.get("reason", "")[:500])
    except ActionError as exc:
        _flash(request, exc)
    return redirect("arrangements:plan", pk=plan.pk)


# --- waivers and settlements --------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def offer_new(request, pk):
    case = get_visible_case(request.user, pk)
    _require_work(request, case)
    terms = current_terms(case.creditor_id)
    form = OfferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            offer = actions.do_propose_offer(
                case, kind=d["kind"], interest_waived=d["interest_waived"] or Decimal("0"),
                fees_waived=d["fees_waived"] or Decimal("0"), settle_amount=d["settle_amount"], note=d["note"],
                acting_user=request.user)
        except ActionError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("Offer proposed; nobody may tell the debtor until the creditor approves."))
            return redirect("arrangements:offer", pk=offer.pk)
    basis = case.principal if terms.settlement_floor_basis == "principal" else case.total_due
    return render(request, "arrangements/offer_new.html", {
        "title": _("Propose a waiver or settlement"), "case": case, "form": form, "terms": terms,
        "max_interest": (case.interest * terms.waiver_max_interest_share).quantize(Decimal("0.01")),
        "max_fees": ((case.late_fees + case.other_fees) * terms.waiver_max_fee_share).quantize(Decimal("0.01")),
        "floor": (basis * terms.settlement_floor_share).quantize(Decimal("0.01")),
    })


@login_required
@require_GET
def offer_detail(request, pk):
    offer = get_or_404(visible_offers(request.user), pk)
    return render(request, "arrangements/offer_detail.html", {
        "title": _("Offer #%(n)s") % {"n": offer.pk}, "offer": offer, "case": offer.case,
        "steps": offer.steps.select_related("user"), "may_review": _may_review(request.user, offer),
        "may_work": _may_work(request.user, offer.case), "communicable": actions.can_communicate(offer),
    })


@login_required
@require_POST
def offer_review(request, pk):
    return _review(request, get_or_404(visible_offers(request.user), pk), actions.do_review_offer,
                   "arrangements:offer")


@login_required
@require_POST
def offer_communicate(request, pk):
    offer = get_or_404(visible_offers(request.user), pk)
    _require_work(request, offer.case)
    try:
        actions.do_mark_offer_communicated(offer, acting_user=request.user)
    except ActionError as exc:
        # The refused attempt is kept (outside the rolled-back transaction): QA looks for these.
        audit("offer.communicate_refused", actor=request.user, obj=offer, case_id=offer.case_id, status=offer.status)
        _flash(request, exc)
    else:
        messages.success(request, _("Recorded: the offer was told to the debtor."))
    return redirect("arrangements:offer", pk=offer.pk)


# --- approvals and terms --------------------------------------------------------------------------


@login_required
@require_GET
def approvals(request):
    """Pending approvals: the leader's stage for leaders and supervisors, the creditor's for creditor users."""
    user = request.user
    if can(user, "arrangement.approve"):
        state = RepaymentPlan.Status.PENDING_CREDITOR
    elif can(user, "arrangement.review"):
        state = RepaymentPlan.Status.PENDING_LEADER
    else:
        deny(request, "arrangement.review")
    cases = visible_cases(user).values("pk")
    plans = (RepaymentPlan.objects.filter(case__in=cases, status=state)
             .select_related("case", "case__debtor", "case__creditor", "proposed_by").order_by("created_at"))
    offers = (Offer.objects.filter(case__in=cases, status=state)
              .select_related("case", "case__debtor", "case__creditor", "proposed_by").order_by("created_at"))
    return render(request, "arrangements/approvals.html", {
        "title": _("Pending approvals"), "plans": plans, "offers": offers,
        "creditor_stage": state == RepaymentPlan.Status.PENDING_CREDITOR,
    })


@require_capability("terms.edit")
@require_GET
def terms_list(request):
    rows = [(c, current_terms(c.pk)) for c in Creditor.objects.filter(is_active=True).order_by("code")]
    return render(request, "arrangements/terms_list.html", {"title": _("Creditor terms"), "rows": rows})


@require_capability("terms.edit")
@require_http_methods(["GET", "POST"])
def terms_edit(request, pk):
    creditor = get_object_or_404(Creditor, pk=pk)
    terms = current_terms(creditor.pk)
    form = TermsForm(request.POST or None, instance=None, initial=terms.values())
    if request.method == "POST" and form.is_valid():
        values = {k: form.cleaned_data[k] for k in terms.EDITABLE}
        try:
            actions.do_update_terms(creditor, values=values, note=form.cleaned_data["note"],
                                    acting_user=request.user)
        except ActionError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("New terms saved."))
            return redirect("arrangements:terms")
    history = creditor.terms.select_related("created_by").order_by("-version")[:20]
    return render(request, "arrangements/terms_edit.html", {
        "title": _("Terms of %(c)s") % {"c": creditor.name}, "creditor": creditor, "form": form, "terms": terms,
        "history": history,
    })
