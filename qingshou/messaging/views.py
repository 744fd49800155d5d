"""Pages: templates (list, new, edit, submit, approve/reject, retire), SMS from the case page, bulk SMS."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from qingshou.core.errors import ActionError
from qingshou.core.masking import mask_phone
from qingshou.core.scoping import can, get_visible_case, workable_cases
from qingshou.core.views import action_error_messages, add_action_errors, deny, require_capability
from qingshou.messaging import actions
from qingshou.messaging.models import Kind, MessageTemplate, SmsBatch, SmsMessage, TemplateVersion
from qingshou.messaging.templates import DEBT_PLACEHOLDERS, PLACEHOLDERS, SAMPLE_VALUES, usable_versions
from qingshou.messaging.templates import render as render_template
from qingshou.org.models import Creditor, Role
from qingshou.portfolio.models import Phone

S = TemplateVersion.Status


# --- templates ----------------------------------------------------------------------------------

def _template_scope(user):
    """Templates the user may see: editors all; a creditor user their creditor's; others none (None)."""
    if can(user, "templates.edit"):
        return MessageTemplate.objects.all()
    if user.role == Role.CREDITOR:
        return MessageTemplate.objects.filter(creditor_id=user.creditor_id) if user.creditor_id else \
            MessageTemplate.objects.none()
    return None


def _get_template(request, pk) -> MessageTemplate:
    scope = _template_scope(request.user)
    if scope is None:
        deny(request, "templates.view")
    try:
        return scope.select_related("creditor").get(pk=pk)
    except MessageTemplate.DoesNotExist:
        raise Http404 from None


def _placeholder_help():
    return [{"name": k, "label": v, "debt": k in DEBT_PLACEHOLDERS} for k, v in PLACEHOLDERS.items()]


class TemplateForm(forms.Form):
    creditor = forms.ModelChoiceField(queryset=Creditor.objects.filter(is_active=True), label=gettext_lazy("Creditor"),
                                      empty_label="—")
    kind = forms.ChoiceField(choices=Kind.choices, label=gettext_lazy("Kind"))
    code = forms.SlugField(max_length=40, label=gettext_lazy("Code"))
    name = forms.CharField(max_length=100, label=gettext_lazy("Name"))
    safe_for_third_parties = forms.BooleanField(required=False, label=gettext_lazy("Safe for third parties"))
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), label=gettext_lazy("Text"))


class VersionForm(forms.Form):
    name = forms.CharField(max_length=100, label=gettext_lazy("Name"))
    safe_for_third_parties = forms.BooleanField(required=False, label=gettext_lazy("Safe for third parties"))
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), label=gettext_lazy("Text"))


@login_required
@require_GET
def template_list(request):
    scope = _template_scope(request.user)
    if scope is None:
        deny(request, "templates.view")
    rows = []
    for t in scope.select_related("creditor").prefetch_related("versions"):
        versions = list(t.versions.all())
        rows.append({"t": t, "active": next((v for v in versions if v.active), None),
                     "pending": [v for v in versions if v.status == S.PENDING],
                     "draft": next((v for v in versions if v.status == S.DRAFT), None)})
    return render(request, "messaging/template_list.html", {
        "rows": rows, "can_edit": can(request.user, "templates.edit"), "title": _("Templates"),
        "pending_count": sum(len(r["pending"]) for r in rows),
    })


@require_capability("templates.edit")
@require_http_methods(["GET", "POST"])
def template_new(request):
    form = TemplateForm(request.POST or None, initial={"kind": request.GET.get("kind", Kind.SMS)})
    if request.method == "POST" and form.is_valid():
        try:
            version = actions.do_create_template(acting_user=request.user, **form.cleaned_data)
        except ActionError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("Template saved as a draft."))
            return redirect("messaging:template", pk=version.template_id)
    return render(request, "messaging/template_new.html", {"form": form, "placeholders": _placeholder_help(),
                                                            "title": _("New template")})


@login_required
@require_http_methods(["GET", "POST"])
def template_detail(request, pk):
    template = _get_template(request, pk)
    can_edit = can(request.user, "templates.edit")
    versions = list(template.versions.select_related("created_by", "approved_by").order_by("-number"))
    latest = versions[0] if versions else None
    form = None
    if can_edit:
        form = VersionForm(request.POST or None, initial={
            "name": template.name, "safe_for_third_parties": template.safe_for_third_parties,
            "body": latest.body if latest else ""})
    if request.method == "POST":
        if not can_edit:
            deny(request, "templates.edit", template_id=template.pk)
        if form.is_valid():
            try:
                actions.do_save_version(template, acting_user=request.user, **form.cleaned_data)
            except ActionError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("Draft saved."))
                return redirect("messaging:template", pk=template.pk)
    for v in versions:
        try:
            v.preview = render_template(v.body, SAMPLE_VALUES)
        except ActionError:
            v.preview = v.body
    return render(request, "messaging/template_detail.html", {
        "template": template, "versions": versions, "form": form, "can_edit": can_edit,
        "can_approve": actions.can_approve(request.user, template), "placeholders": _placeholder_help(),
        "title": template.name,
    })


def _version_for(request, pk) -> TemplateVersion:
    try:
        version = TemplateVersion.objects.select_related("template").get(pk=pk)
    except TemplateVersion.DoesNotExist:
        raise Http404 from None
    _get_template(request, version.template_id)     # 404 outside the user's scope, 403 without any
    return version


@login_required
@require_POST
def version_submit(request, pk):
    version = _version_for(request, pk)
    if not can(request.user, "templates.edit"):
        deny(request, "templates.edit", version_id=version.pk)
    try:
        actions.do_submit_version(version, acting_user=request.user)
        messages.success(request, _("Submitted to the creditor for approval."))
    except ActionError as exc:
        messages.error(request, " ".join(m for ms in action_error_messages(exc).values() for m in ms))
    return redirect("messaging:template", pk=version.template_id)


@login_required
@require_POST
def version_review(request, pk):
    version = _version_for(request, pk)
    if not actions.can_approve(request.user, version.template):
        deny(request, "templates.approve", version_id=version.pk)
    op, note = request.POST.get("op"), request.POST.get("note", "")
    try:
        if op == "approve":
            actions.do_approve_version(version, acting_user=request.user, note=note)
            messages.success(request, _("Version approved: it is now the one in use."))
        elif op == "reject":
            actions.do_reject_version(version, acting_user=request.user, note=note)
            messages.success(request, _("Version rejected."))
        else:
            messages.error(request, _("Choose approve or reject."))
    except ActionError as exc:
        messages.error(request, " ".join(m for ms in action_error_messages(exc).values() for m in ms))
    return redirect("messaging:template", pk=version.template_id)


@login_required
@require_POST
def template_retire(request, pk):
    template = _get_template(request, pk)
    if not can(request.user, "templates.edit"):
        deny(request, "templates.edit", template_id=template.pk)
    actions.do_retire_template(template, acting_user=request.user, reason=request.POST.get("reason", ""))
    messages.success(request, _("Template retired: it can no longer be used."))
    return redirect("messaging:template", pk=template.pk)


# --- SMS from the case page ---------------------------------------------------------------------

def _workable_case(request, pk):
    case = get_visible_case(request.user, pk)
    if not workable_cases(request.user).filter(pk=case.pk).exists():
        deny(request, "case.work", case_id=case.pk)
    return case


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
@require_http_methods(["GET", "POST"])
def case_sms(request, pk):
    """Choose person, number and approved template → preview with the compliance pre-check → send."""
    from qingshou.compliance.hook import ContactRequest, check_contact
    from qingshou.compliance.types import CALLBACK, COLLECT

    case = _workable_case(request, pk)
    data = request.POST if request.method == "POST" else request.GET
    parties = list(case.debtor.parties.prefetch_related("phones").order_by("pk"))
    party = next((p for p in parties if p.pk == _int(data.get("party"))), None) or next(
        (p for p in parties if p.is_debtor), None)
    phones = [ph for ph in (party.phones.all() if party else []) if ph.status != Phone.Status.INVALID]
    phone = next((ph for ph in phones if ph.pk == _int(data.get("phone"))), phones[0] if phones else None)
    versions = list(usable_versions(case.creditor_id, Kind.SMS, third_party=bool(party and not party.is_debtor)))
    version = next((v for v in versions if v.pk == _int(data.get("template"))), versions[0] if versions else None)
    errors, preview, decision, sent = [], "", None, None
    if request.method == "POST" and party and phone and version:
        try:
            sent = actions.do_send_sms(case, party=party, phone=phone, version=version, acting_user=request.user)
        except ActionError as exc:
            errors = [m for ms in action_error_messages(exc).values() for m in ms]
        else:
            if sent.status != "refused":
                messages.success(request, _("SMS queued for sending to %(phone)s.") % {
                    "phone": mask_phone(phone.number)})
                return redirect("portfolio:case", pk=case.pk)
            decision = sent.decision
    elif request.method == "POST":
        errors = [_("Choose the person, the number and an approved template.")]
    if party and phone and version and decision is None:
        try:
            preview = render_template(version, actions.sms_context(case, party, acting_user=request.user))
        except ActionError as exc:
            errors += [m for ms in action_error_messages(exc).values() for m in ms]
        else:
            request_ = ContactRequest(
                case_id=case.pk, party_id=party.pk, phone_id=phone.pk, channel="sms", at=timezone.now(),
                party_is_debtor=party.is_debtor, party_relation=party.relation,
                purpose=COLLECT if party.is_debtor else CALLBACK, template_id=version.pk,
                requested_by_id=request.user.pk, text=preview, institution_stated=True)
            decision = check_contact(request_)
    reasons = []
    if decision is not None:
        raw = decision.reasons if isinstance(decision.reasons, list) else decision.reasons_json()
        english = request.LANGUAGE_CODE.startswith("en")
        reasons = [r.get("message_en" if english else "message_zh") or r.get("rule") for r in raw]
    history = SmsMessage.objects.filter(case=case).select_related("phone", "template_version__template",
                                                                  "created_by")[:20]
    return render(request, "messaging/case_sms.html", {
        "case": case, "parties": parties, "party": party, "phones": phones, "phone": phone,
        "versions": versions, "version": version, "preview": preview, "decision": decision, "reasons": reasons,
        "refused": sent is not None and sent.status == "refused", "errors": errors, "history": history,
        "title": _("Send SMS"),
    })


# --- bulk SMS -----------------------------------------------------------------------------------

def _segment(request, data):
    from qingshou.portfolio.filters import CaseFilter

    filter_data = {k: v for k, v in data.items() if k in CaseFilter.base_filters}
    filterset = CaseFilter(filter_data or None, queryset=workable_cases(request.user).order_by("pk"),
                           request=request)
    return filterset, filter_data


@require_capability("sms.bulk")
@require_http_methods(["GET", "POST"])
def bulk(request):
    data = request.POST if request.method == "POST" else request.GET
    filterset, filter_data = _segment(request, data)
    ids_text = data.get("case_ids", "")
    ids = [int(x) for x in ids_text.replace(",", " ").split() if x.isdigit()]
    creditors = Creditor.objects.filter(pk__in=workable_cases(request.user).values("creditor_id"))
    versions = list(TemplateVersion.objects.select_related("template", "template__creditor").filter(
        template__kind=Kind.SMS, template__creditor__in=creditors, status=S.APPROVED, active=True)
        .order_by("template__creditor__code", "template__code"))
    version = next((v for v in versions if v.pk == _int(data.get("template"))), None)
    cases = workable_cases(request.user).filter(pk__in=ids) if ids else (filterset.qs if filterset.is_bound else
                                                                         workable_cases(request.user).none())
    if version is not None:
        cases = cases.filter(creditor_id=version.template.creditor_id)
    count = cases.count()
    errors = []
    if request.method == "POST":
        if version is None:
            errors.append(_("Choose an approved template."))
        else:
            try:
                batch = actions.do_create_sms_batch(list(cases.values_list("pk", flat=True)), version=version,
                                                    acting_user=request.user,
                                                    criteria={"filters": filter_data, "ids": bool(ids)})
            except ActionError as exc:
                errors += [m for ms in action_error_messages(exc).values() for m in ms]
            else:
                return redirect("messaging:batch", pk=batch.pk)
    recent = SmsBatch.objects.filter(created_by=request.user).select_related("template_version__template")[:10]
    return render(request, "messaging/bulk.html", {
        "filter": filterset, "filter_data": filter_data, "case_ids": ids_text,
        "keep": {"template": version.pk} if version else {}, "versions": versions,
        "version": version, "count": count, "errors": errors, "recent": recent, "title": _("Bulk SMS"),
    })


@require_capability("sms.bulk")
@require_GET
def batch(request, pk):
    qs = SmsBatch.objects.select_related("template_version__template", "created_by")
    if request.user.role != Role.SUPERVISOR:
        qs = qs.filter(created_by=request.user)
    try:
        row = qs.get(pk=pk)
    except SmsBatch.DoesNotExist:
        raise Http404 from None
    progress = actions.batch_progress(row)
    messages_ = row.messages.select_related("case", "phone", "decision").order_by("pk")[:500]
    from qingshou.core.models import AuditLog

    skipped = AuditLog.objects.filter(action="sms.skipped", data__batch_id=row.pk).order_by("pk")[:200]
    ctx = {"batch": row, "p": progress, "rows": messages_, "skipped": skipped, "title": _("Bulk SMS"),
           "english": request.LANGUAGE_CODE.startswith("en"),
           "poll_url": reverse("messaging:batch", args=[row.pk])}
    template = "messaging/_batch_progress.html" if request.htmx else "messaging/batch.html"
    return render(request, template, ctx)
