"""Telephony pages: click-to-call, the case's calls with their recordings, recording playback (audited),
the QA list of calls without a recording, the preview-dialling export, result-file import and voice
campaigns. Views parse, authorise, call an action and render."""

from __future__ import annotations

import csv
import io
import zipfile

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from qingshou.contact.models import QaFlag
from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.scoping import can, get_visible_case, visible_cases, visible_contacts, workable_cases
from qingshou.core.views import action_error_messages, deny, require_capability
from qingshou.portfolio.models import Phone
from qingshou.telephony import actions
from qingshou.telephony.models import Call, VoiceCampaign

MAX_IMPORT_BYTES = 20 * 1024 * 1024


def _first_error(exc: ActionError) -> str:
    return "; ".join(m for msgs in action_error_messages(exc).values() for m in msgs)


@login_required
@require_POST
def call(request, pk):
    """Click-to-call: the engine first; when allowed the dialer rings the agent's extension, then the number."""
    case = get_visible_case(request.user, pk)
    if not workable_cases(request.user).filter(pk=case.pk).exists():
        deny(request, "case.work", case_id=case.pk)
    phone = Phone.objects.select_related("party").filter(pk=request.POST.get("phone") or 0,
                                                         party__debtor_id=case.debtor_id).first()
    if phone is None:
        messages.error(request, _("Choose a number of this case."))
        return redirect("portfolio:case", pk=case.pk)
    try:
        result = actions.do_place_call(case, party=phone.party, phone=phone, acting_user=request.user,
                                       institution_stated=request.POST.get("institution_stated") == "1")
    except ActionError as exc:
        messages.error(request, _first_error(exc))
        return redirect("portfolio:case", pk=case.pk)
    if result.placed:
        messages.success(request, _("Calling: your extension %(ext)s rings first. The call is recorded.") % {
            "ext": result.call.extension})
    else:
        reasons = "；".join(r.message_zh if (request.LANGUAGE_CODE or "").startswith("zh") else r.message_en
                           for r in result.decision.reasons)
        text = _("Not called: the compliance check refused this call. %(reasons)s") % {"reasons": reasons}
        if result.decision.next_allowed_at:
            text += " " + _("Next contact allowed at %(at)s.") % {
                "at": timezone.localtime(result.decision.next_allowed_at).strftime("%Y-%m-%d %H:%M")}
        messages.error(request, text)
    return redirect("portfolio:case", pk=case.pk)


def case_calls_context(user, case) -> dict:
    calls = (Call.objects.filter(contact__case=case).select_related("contact__outcome", "contact__phone",
                                                                     "contact__recording", "campaign")
             .order_by("-created_at")[:20])
    return {"case": case, "calls": calls, "can_play": can(user, "recording.play"),
            "can_import": can(user, "case.work"), "can_export": can(user, "dialer.feed"),
            "pending": any(c.state in (Call.State.QUEUED, Call.State.RINGING) for c in calls)}


@login_required
@require_GET
def case_calls(request, pk):
    """The case's dialer calls (an HTMX fragment polled while a call is in progress)."""
    case = get_visible_case(request.user, pk)
    return render(request, "telephony/_case_calls.html", case_calls_context(request.user, case))


@login_required
@require_GET
def recording_audio(request, pk):
    """Stream one recording to an <audio> element; every play is audited."""
    contact = visible_contacts(request.user).filter(pk=pk).select_related("recording").first()
    if contact is None:
        raise Http404("no such recording")
    if not can(request.user, "recording.play"):
        deny(request, "recording.play", contact_id=contact.pk, case_id=contact.case_id)
    recording = getattr(contact, "recording", None)
    if recording is None or not recording.available:
        raise Http404("no recording")
    try:
        fh = recording.file.open("rb")
    except FileNotFoundError:
        raise Http404("recording file missing") from None
    actions.record_play(request.user, recording)
    response = FileResponse(fh, content_type=recording.content_type)
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = "inline"
    return response


@require_capability("calls.qa")
@require_GET
def qa_list(request):
    """Calls without a recording (a violation to review, seed 003), newest first."""
    qs = (visible_contacts(request.user).filter(qa_flag=QaFlag.NO_RECORDING)
          .select_related("case", "party", "collector", "outcome").order_by("-started_at"))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    recent = (visible_contacts(request.user).filter(recording__isnull=False, recording__purged_at__isnull=True)
              .select_related("case", "party", "collector", "outcome", "recording").order_by("-started_at")[:20])
    return render(request, "telephony/qa_list.html", {"page": page, "recent": recent, "title": _("Call QA"),
                                                       "perms_campaign": can(request.user, "voice.campaign"),
                                                       "perms_import": can(request.user, "case.work")})


@require_capability("dialer.feed")
@require_GET
def preview_export(request):
    """预览式外呼名单: the numbers of my queue callable now, full numbers (audited PII export)."""
    from qingshou.compliance.dialer import do_dialer_feed

    try:
        limit = max(1, min(int(request.GET.get("limit") or 200), 1000))
    except ValueError:
        limit = 200
    from django.conf import settings

    stated = settings.TELEPHONY_ANNOUNCES_INSTITUTION or request.GET.get("institution_stated") == "1"
    items, checked = do_dialer_feed(request.user, limit=limit, institution_stated=stated)
    audit("dialer.export", actor=request.user, count=len(items), checked=checked, format="csv",
          case_ids=[i["case_id"] for i in items])
    cases = {c.pk: c for c in visible_cases(request.user).filter(pk__in=[i["case_id"] for i in items])
             .select_related("debtor")}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["case_id", "debtor", "party_id", "relation", "phone_id", "phone", "total_due"])
    for i in items:
        case = cases.get(i["case_id"])
        writer.writerow([i["case_id"], case.debtor.name if case else "", i["party_id"], i["relation"],
                         i["phone_id"], i["number"], case.total_due if case else ""])
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="preview-{timezone.localdate():%Y%m%d}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


class ImportForm(forms.Form):
    results = forms.FileField(label=gettext_lazy("Results file (CSV)"))
    recordings = forms.FileField(label=gettext_lazy("Recordings (ZIP, optional)"), required=False)


def _read_upload(form) -> tuple[list[dict], dict[str, bytes]]:
    raw = form.cleaned_data["results"].read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        raise ActionError({"results": _("The file is too large.")})
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    missing = {"started_at", "duration", "result"} - set(reader.fieldnames or [])
    if missing:
        raise ActionError({"results": _("Missing column(s): %(cols)s.") % {"cols": ", ".join(sorted(missing))}})
    rows = list(reader)
    recordings = {}
    upload = form.cleaned_data.get("recordings")
    if upload:
        try:
            with zipfile.ZipFile(upload) as zf:
                for info in zf.infolist():
                    if info.is_dir() or info.file_size > 50 * 1024 * 1024:
                        continue
                    recordings[info.filename.rsplit("/", 1)[-1]] = zf.read(info)
        except zipfile.BadZipFile:
            raise ActionError({"recordings": _("The recordings file is not a ZIP archive.")}) from None
    return rows, recordings


@require_capability("case.work")
@require_http_methods(["GET", "POST"])
def import_results(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            rows, recordings = _read_upload(form)
        except ActionError as exc:
            for field, msgs in action_error_messages(exc).items():
                for msg in msgs:
                    form.add_error(field if field in form.fields else None, msg)
        else:
            report = actions.do_import_results(rows, acting_user=request.user, recordings=recordings)
            if not report["errors"]:
                messages.success(request, _("Imported: %(completed)s calls completed, %(logged)s calls logged.")
                                 % report)
                return redirect("telephony:import")
    return render(request, "telephony/import.html", {"form": form, "report": report, "columns": actions.IMPORT_COLUMNS,
                                                     "title": _("Import call results")})


class CampaignForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=80, required=False)
    creditor = forms.ModelChoiceField(label=gettext_lazy("Creditor"), queryset=None)
    segment = forms.ChoiceField(label=gettext_lazy("Segment"), choices=VoiceCampaign.Segment.choices)
    script = forms.ModelChoiceField(label=gettext_lazy("Voice script (approved)"), queryset=None)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from qingshou.messaging.templates import TemplateVersion
        from qingshou.org.models import Creditor

        creditor_ids = visible_cases(user).values("creditor_id")
        self.fields["creditor"].queryset = Creditor.objects.filter(pk__in=creditor_ids).order_by("name")
        self.fields["script"].queryset = (TemplateVersion.objects.select_related("template", "template__creditor")
                                          .filter(template__kind="voice", status="approved", active=True,
                                                  template__creditor_id__in=creditor_ids)
                                          .order_by("template__code"))
        self.fields["script"].label_from_instance = lambda v: (
            f"{v.template.creditor.name} · {v.template.code} v{v.number}")


@require_capability("voice.campaign")
@require_http_methods(["GET", "POST"])
def campaigns(request):
    form = CampaignForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = actions.do_launch_campaign(
                acting_user=request.user, creditor=form.cleaned_data["creditor"],
                segment=form.cleaned_data["segment"], script_version=form.cleaned_data["script"],
                name=form.cleaned_data["name"])
        except ActionError as exc:
            for field, msgs in action_error_messages(exc).items():
                for msg in msgs:
                    form.add_error({"script": "script"}.get(field) if field in ("script", "segment") else None, msg)
        else:
            messages.success(request, _("Campaign started for %(n)s cases: the calls are placed in the background, "
                                        "each after its compliance check.") % {"n": len(campaign.case_ids)})
            return redirect("telephony:campaign", pk=campaign.pk)
    creditor_ids = visible_cases(request.user).values("creditor_id")
    rows = VoiceCampaign.objects.filter(creditor_id__in=creditor_ids).select_related("creditor", "created_by")[:50]
    return render(request, "telephony/campaigns.html", {"form": form, "campaigns": rows,
                                                        "title": _("Voice reminder campaigns")})


@require_capability("voice.campaign")
@require_GET
def campaign(request, pk):
    creditor_ids = visible_cases(request.user).values("creditor_id")
    row = (VoiceCampaign.objects.filter(pk=pk, creditor_id__in=creditor_ids)
           .select_related("creditor", "created_by", "script_version__template").first())
    if row is None:
        raise Http404("no such campaign")
    calls = (row.calls.filter(contact__case__in=visible_cases(request.user).values("pk"))
             .select_related("contact__case", "contact__outcome").order_by("-created_at")[:200])
    return render(request, "telephony/campaign.html", {"campaign": row, "progress": actions.campaign_progress(row),
                                                       "calls": calls, "title": row.name})



