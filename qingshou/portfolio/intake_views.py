"""Intake pages: placement upload (mapping preview, dry run, progress, result), repayment upload,
recall from a list, the recall file and placement extension. For users with "intake.manage".

The placement upload is two steps. The file is first stashed under MEDIA_ROOT (not yet an import) and its
headers and first rows are shown with the proposed mapping, which the user confirms or edits and may save
as a profile; confirming creates the Import and enqueues its task. The result page polls the Import's
progress with HTMX until the task is done.
"""

from __future__ import annotations

import json
import re
import secrets
import tempfile
from pathlib import Path

from django import forms
from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.masking import mask_phone
from qingshou.core.scoping import visible_imports
from qingshou.core.tasks import enqueue_on_commit
from qingshou.core.views import SafeModelChoiceMixin, action_error_messages, parse_pk, require_capability
from qingshou.org.models import Creditor

CAP = "intake.manage"
MAX_UPLOAD = 1 << 30  # 1 GiB
SAMPLE_ROWS = 3
STASH_DIR = "intake/uploads"
TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
ENCODINGS = [
    ("", gettext_lazy("detect automatically")),
    ("utf-8", "UTF-8"),
    ("utf-8-sig", gettext_lazy("UTF-8 with BOM")),
    ("gbk", "GBK"),
    ("gb18030", "GB18030"),
]


class CreditorField(SafeModelChoiceMixin, forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.code}）"


def _creditor_field():
    return CreditorField(queryset=Creditor.objects.order_by("code"), label=gettext_lazy("Creditor"),
                         empty_label=gettext_lazy("— choose —"))


def _check_size(f):
    if f is not None and f.size > MAX_UPLOAD:
        raise forms.ValidationError(_("The file is larger than 1 GB."))
    if f is not None and f.size == 0:
        raise forms.ValidationError(_("The file is empty."))
    return f


class PlacementUploadForm(forms.Form):
    creditor = _creditor_field()
    file = forms.FileField(label=gettext_lazy("Placement file"),
                           help_text=gettext_lazy("CSV (UTF-8, GBK or GB18030), XLSX or XLS"))
    encoding = forms.ChoiceField(choices=ENCODINGS, required=False, label=gettext_lazy("Encoding (CSV)"))
    placement_code = forms.CharField(max_length=64, required=False, label=gettext_lazy("Batch code"),
                                     help_text=gettext_lazy("Empty: taken from the file name"))

    def clean_file(self):
        return _check_size(self.cleaned_data.get("file"))


class PaymentUploadForm(forms.Form):
    creditor = _creditor_field()
    file = forms.FileField(label=gettext_lazy("Repayment file"),
                           help_text=gettext_lazy("CSV (UTF-8, GBK or GB18030), XLSX or XLS"))
    encoding = forms.ChoiceField(choices=ENCODINGS, required=False, label=gettext_lazy("Encoding (CSV)"))
    dry_run = forms.BooleanField(required=False, label=gettext_lazy("Dry run: check only, record nothing"))
    skip_invalid = forms.BooleanField(required=False, label=gettext_lazy("Skip invalid rows"))

    def clean_file(self):
        return _check_size(self.cleaned_data.get("file"))


class RecallForm(forms.Form):
    creditor = _creditor_field()
    file = forms.FileField(label=gettext_lazy("List of accounts"),
                           help_text=gettext_lazy("A column headed 卡号 / 合同号 / 账号, or one account per line"))
    encoding = forms.ChoiceField(choices=ENCODINGS, required=False, label=gettext_lazy("Encoding (CSV)"))
    reason = forms.CharField(max_length=300, label=gettext_lazy("Reason"))

    def clean_file(self):
        return _check_size(self.cleaned_data.get("file"))


class RecallFileForm(forms.Form):
    creditor = _creditor_field()
    since = forms.DateField(required=False, label=gettext_lazy("Recalled from"),
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label=gettext_lazy("Recalled until"),
                            widget=forms.DateInput(attrs={"type": "date"}))


class PlacementChoiceField(SafeModelChoiceMixin, forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return _("%(placement)s, ends %(date)s") % {"placement": str(obj), "date": obj.ends_on.isoformat()}


class ExtendForm(forms.Form):
    placement = PlacementChoiceField(queryset=None, label=gettext_lazy("Placement"),
                                     empty_label=gettext_lazy("— choose —"))
    ends_on = forms.DateField(label=gettext_lazy("New end date"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(max_length=300, label=gettext_lazy("Reason"))

    def __init__(self, *args, **kwargs):
        from qingshou.portfolio.models import Placement

        super().__init__(*args, **kwargs)
        self.fields["placement"].queryset = Placement.objects.select_related("creditor").order_by(
            "creditor__code", "-starts_on")


def _add_errors(form, exc: ActionError):
    for field, msgs in action_error_messages(exc).items():
        for msg in msgs:
            form.add_error(field if field in form.fields else None, msg)


# --- the stash: an uploaded placement file waiting for its mapping to be confirmed --------------------


def stash_upload(upload, *, user, creditor, encoding: str = "", placement_code: str = "") -> str:
    """Keep an uploaded file under MEDIA_ROOT/intake/uploads/<token>/ with a small JSON note; return the token."""
    token = secrets.token_hex(16)
    name = Path(upload.name or "upload.csv").name[-120:]
    default_storage.save(f"{STASH_DIR}/{token}/file", upload)
    meta = {"user": user.pk, "creditor": creditor.pk, "file_name": name, "encoding": encoding,
            "placement_code": placement_code, "at": timezone.now().isoformat()}
    from django.core.files.base import ContentFile

    default_storage.save(f"{STASH_DIR}/{token}/meta.json", ContentFile(json.dumps(meta).encode()))
    return token


def _stash(token: str, user) -> dict:
    """The stash's note, if the token names one of this user's uploads; else 404."""
    if not TOKEN_RE.match(token or ""):
        raise Http404("no such upload")
    try:
        with default_storage.open(f"{STASH_DIR}/{token}/meta.json") as fh:
            meta = json.loads(fh.read())
    except (OSError, ValueError):
        raise Http404("no such upload") from None
    if meta.get("user") != user.pk:
        raise Http404("no such upload")
    meta["path"] = f"{STASH_DIR}/{token}/file"
    return meta


def _drop_stash(token: str) -> None:
    for name in ("file", "meta.json"):
        try:
            default_storage.delete(f"{STASH_DIR}/{token}/{name}")
        except OSError:
            pass
    try:
        Path(default_storage.path(f"{STASH_DIR}/{token}")).rmdir()
    except (OSError, NotImplementedError):
        pass


_LONG_DIGITS = re.compile(r"\d{7,}[\dXx]?")


def _mask_sample(value: str, kind: str | None, key: str | None) -> str:
    """A sample cell as the mapping page shows it: phone and ID numbers masked whatever their column."""
    from qingshou.portfolio.intake.validation import mask_value

    if kind:
        return mask_value(kind, key or "", value)[:60]
    return _LONG_DIGITS.sub(lambda m: mask_phone(m.group(0)), value)[:60]


def _field_choices():
    from qingshou.portfolio.intake import FIELDS

    return [("", _("— not imported —"))] + [
        (key, f"{spec.label}{' *' if spec.required else ''}") for key, spec in FIELDS.items()]


class MappingForm(forms.Form):
    """One select per column of the file: which of our fields it holds. Plus the run's options."""

    dry_run = forms.BooleanField(required=False, label=gettext_lazy("Dry run: check every row, load nothing"))
    skip_invalid = forms.BooleanField(required=False,
                                      label=gettext_lazy("Skip invalid rows (default: nothing is loaded if "
                                                         "any row is invalid)"))
    profile_name = forms.CharField(max_length=60, required=False, label=gettext_lazy("Save the mapping as profile"),
                                   help_text=gettext_lazy("Empty: do not save"))

    def __init__(self, *args, headers: list[str], mapping: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.headers = headers
        by_header = {h: k for k, h in mapping.items()}
        choices = _field_choices()
        for i, h in enumerate(headers):
            self.fields[f"col_{i}"] = forms.ChoiceField(choices=choices, required=False, label=h,
                                                        initial=by_header.get(h, ""))

    def column_fields(self):
        return [self[f"col_{i}"] for i in range(len(self.headers))]

    def clean(self):
        from qingshou.portfolio.intake import FIELDS
        from qingshou.portfolio.intake.profiles import check_mapping

        cd = super().clean()
        mapping: dict[str, str] = {}
        for i, h in enumerate(self.headers):
            key = cd.get(f"col_{i}")
            if not key:
                continue
            if key in mapping:
                self.add_error(f"col_{i}", _("%(field)s is already the column %(header)s.") % {
                    "field": FIELDS[key].label, "header": mapping[key]})
                continue
            mapping[key] = h
        for key, problem in check_mapping(mapping, self.headers).items():
            if key in FIELDS and key not in mapping:
                self.add_error(None, f"{FIELDS[key].label}: {problem}")
            else:
                self.add_error(None, problem)
        cd["mapping"] = mapping
        return cd


# --- pages ------------------------------------------------------------------------------------------


@require_capability(CAP)
@require_GET
def index(request):
    imports = visible_imports(request.user).select_related("creditor", "created_by")[:50]
    return render(request, "intake/index.html", {"imports": imports, "title": _("Intake")})


@require_capability(CAP)
@require_http_methods(["GET", "POST"])
def placement_upload(request):
    form = PlacementUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        token = stash_upload(cd["file"], user=request.user, creditor=cd["creditor"], encoding=cd["encoding"],
                             placement_code=cd["placement_code"].strip())
        audit("import.upload", actor=request.user, obj=cd["creditor"], file=cd["file"].name[:200],
              size=cd["file"].size)
        return redirect("intake:placement_mapping", token=token)
    return render(request, "intake/placement_upload.html", {"form": form, "title": _("Load a placement file")})


@require_capability(CAP)
@require_http_methods(["GET", "POST"])
def placement_mapping(request, token):
    from qingshou.portfolio.actions import do_save_import_profile
    from qingshou.portfolio.intake import FIELDS, create_import, propose_mapping, read_table
    from qingshou.portfolio.tasks import run_placement_import_task

    meta = _stash(token, request.user)
    creditor = Creditor.objects.filter(pk=meta["creditor"]).first()
    if creditor is None:
        raise Http404("no such creditor")
    encoding = meta.get("encoding") or None
    try:
        with default_storage.open(meta["path"], "rb") as fh:
            table = read_table(fh, encoding=encoding)
            headers = table.headers
            sample = []
            for _row, cells in table.rows():
                sample.append(cells)
                if len(sample) >= SAMPLE_ROWS:
                    break
            table.close()
    except ValueError as exc:
        _drop_stash(token)
        messages.error(request, _("The file cannot be read: %(error)s") % {"error": exc})
        return redirect("intake:placement_upload")
    proposal = propose_mapping(headers, creditor)
    form = MappingForm(request.POST or None, headers=headers, mapping=proposal.mapping,
                       initial={"profile_name": proposal.profile.name if proposal.profile else ""})
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        mapping = cd["mapping"]
        profile = None
        try:
            if cd["profile_name"].strip():
                options = {"encoding": meta["encoding"]} if meta.get("encoding") else {}
                profile = do_save_import_profile(creditor, name=cd["profile_name"], mapping=mapping,
                                                 options=options, acting_user=request.user)
            with default_storage.open(meta["path"], "rb") as fh:
                imp = create_import(fh, creditor=creditor, profile=profile, mapping=mapping, dry_run=cd["dry_run"],
                                    skip_invalid=cd["skip_invalid"], acting_user=request.user, encoding=encoding,
                                    placement_code=meta.get("placement_code") or None,
                                    file_name=meta["file_name"])
        except ActionError as exc:
            _add_errors(form, exc)
        else:
            _drop_stash(token)
            audit("import.create", actor=request.user, obj=imp, kind="placement", file=imp.file_name,
                  sha256=imp.sha256, dry_run=imp.dry_run, skip_invalid=imp.skip_invalid, status=imp.status)
            if imp.status == imp.Status.PENDING:
                enqueue_on_commit(run_placement_import_task, imp.pk)
            return redirect("intake:detail", pk=imp.pk)

    kinds = {h: FIELDS[k].kind for k, h in proposal.mapping.items() if k in FIELDS}
    keys = {h: k for k, h in proposal.mapping.items()}
    columns = []
    for i, (h, bound) in enumerate(zip(headers, form.column_fields(), strict=True)):
        values = [_mask_sample(r[i] if i < len(r) else "", kinds.get(h), keys.get(h)) for r in sample]
        columns.append({"header": h, "field": bound, "samples": values, "proposed": keys.get(h, "")})
    return render(request, "intake/placement_mapping.html", {
        "form": form, "columns": columns, "creditor": creditor, "meta": meta, "proposal": proposal,
        "missing": [FIELDS[k].label for k in proposal.missing_required],
        "encoding": table.encoding, "format": table.format, "row_estimate": table.row_estimate,
        "title": _("Confirm the column mapping"),
    })


def _import_or_404(request, pk):
    pk = parse_pk(pk)
    imp = visible_imports(request.user).select_related("creditor", "created_by", "placement").filter(pk=pk).first()
    if imp is None:
        raise Http404("no such import")
    return imp


def _row_estimate(imp) -> int:
    """About how many data rows the file has, for the progress bar while the loading transaction hides the
    Import row's counts. Read once per import and cached."""
    from django.core.cache import cache

    from qingshou.portfolio.intake import read_table

    key = f"intake:rows:{imp.pk}:{imp.sha256}"
    value = cache.get(key)
    if value is None:
        value = 0
        try:
            table = read_table(imp.file.path, encoding=(imp.options or {}).get("encoding") or None)
            value = table.row_estimate
            table.close()
        except (OSError, ValueError, NotImplementedError):
            pass
        cache.set(key, value, 3600)
    return value


def _status_context(request, imp) -> dict:
    from qingshou.portfolio.intake.placement import live_progress

    done = live_progress(imp) if imp.kind == "placement" else imp.progress or 0
    total = imp.total_rows
    if not imp.is_finished and not total and imp.file:
        total = _row_estimate(imp)
    if imp.is_finished:
        pct = 100
    else:
        total = max(total, done)
        pct = min(99, int(done * 100 / total)) if total else 0
    english = (get_language() or "").startswith("en")
    errors = list(imp.row_errors.all()[:200])
    return {
        "imp": imp, "pct": pct, "done": done, "total": total, "errors": errors,
        "more_errors": max(0, imp.row_errors.count() - len(errors)) if errors else 0,
        "english": english, "o": imp.options or {},
        "can_run_for_real": imp.dry_run and imp.status == imp.Status.SUCCEEDED and imp.file,
    }


@require_capability(CAP)
@require_GET
def detail(request, pk):
    imp = _import_or_404(request, pk)
    return render(request, "intake/detail.html", {**_status_context(request, imp), "title": imp.file_name})


@require_capability(CAP)
@require_GET
def status(request, pk):
    """HTMX: the status block, polled while the import runs (it stops polling itself when done)."""
    imp = _import_or_404(request, pk)
    return render(request, "intake/_status.html", _status_context(request, imp))


@require_capability(CAP)
@require_GET
def error_report(request, pk):
    imp = _import_or_404(request, pk)
    if not imp.error_report:
        raise Http404("no error report")
    audit("import.error_report", actor=request.user, obj=imp, rows=imp.invalid_rows)
    return FileResponse(imp.error_report.open("rb"), as_attachment=True,
                        filename=f"error-report-{imp.pk}-{Path(imp.file_name).stem}.xlsx")


@require_capability(CAP)
@require_POST
def run_for_real(request, pk):
    """After a good dry run: the same file, mapping and options, loaded this time."""
    from qingshou.payments.intake import create_payment_import
    from qingshou.payments.tasks import run_payment_import_task
    from qingshou.portfolio.intake import create_import
    from qingshou.portfolio.tasks import run_placement_import_task

    imp = _import_or_404(request, pk)
    if not (imp.dry_run and imp.status == imp.Status.SUCCEEDED and imp.file):
        messages.error(request, _("Only a successful dry run can be run for real."))
        return redirect("intake:detail", pk=imp.pk)
    encoding = (imp.options or {}).get("encoding") or None
    with imp.file.open("rb") as fh:
        if imp.kind == "payment":
            new = create_payment_import(fh, creditor=imp.creditor, acting_user=request.user,
                                        skip_invalid=imp.skip_invalid, encoding=encoding, mapping=imp.mapping,
                                        file_name=imp.file_name)
            task = run_payment_import_task
        else:
            new = create_import(fh, creditor=imp.creditor, profile=imp.profile, mapping=imp.mapping,
                                skip_invalid=imp.skip_invalid, acting_user=request.user, encoding=encoding,
                                placement_code=imp.placement_code or None, file_name=imp.file_name)
            task = run_placement_import_task
            audit("import.create", actor=request.user, obj=new, kind="placement", file=new.file_name,
                  sha256=new.sha256, dry_run=False, skip_invalid=new.skip_invalid, status=new.status)
    if new.status == new.Status.PENDING:
        enqueue_on_commit(task, new.pk)
    return redirect("intake:detail", pk=new.pk)


@require_capability(CAP)
@require_http_methods(["GET", "POST"])
def payment_upload(request):
    from qingshou.payments.intake import create_payment_import
    from qingshou.payments.tasks import run_payment_import_task

    form = PaymentUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        imp = create_payment_import(cd["file"], creditor=cd["creditor"], acting_user=request.user,
                                    dry_run=cd["dry_run"], skip_invalid=cd["skip_invalid"],
                                    encoding=cd["encoding"] or None, file_name=cd["file"].name)
        enqueue_on_commit(run_payment_import_task, imp.pk)
        return redirect("intake:detail", pk=imp.pk)
    return render(request, "intake/payment_upload.html", {"form": form, "title": _("Load a repayment file")})


@require_capability(CAP)
@require_http_methods(["GET", "POST"])
def recall(request):
    from qingshou.portfolio.actions import do_extend_placement
    from qingshou.portfolio.recall import recall_from_file

    op = request.POST.get("op") if request.method == "POST" else None
    form = RecallForm(request.POST if op == "recall" else None, request.FILES if op == "recall" else None)
    extend = ExtendForm(request.POST if op == "extend" else None)
    file_form = RecallFileForm(request.GET or None)
    report = None
    if op == "recall" and form.is_valid():
        cd = form.cleaned_data
        try:
            report = recall_from_file(cd["file"], creditor=cd["creditor"], acting_user=request.user,
                                      reason=cd["reason"], encoding=cd["encoding"] or None)
        except ActionError as exc:
            _add_errors(form, exc)
        except ValueError as exc:
            form.add_error("file", str(exc))
    elif op == "extend" and extend.is_valid():
        cd = extend.cleaned_data
        try:
            placement = do_extend_placement(cd["placement"], ends_on=cd["ends_on"], acting_user=request.user,
                                            reason=cd["reason"])
        except ActionError as exc:
            _add_errors(extend, exc)
        else:
            messages.success(request, _("Placement %(placement)s now ends on %(date)s.") % {
                "placement": placement, "date": placement.ends_on.isoformat()})
            return redirect("intake:recall")
    return render(request, "intake/recall.html", {
        "form": form, "extend": extend, "file_form": file_form, "report": report, "title": _("Recall and retention"),
    })


@require_capability(CAP)
@require_GET
def recall_file(request):
    from qingshou.portfolio.recall import recalled_cases, write_recall_file

    form = RecallFileForm(request.GET)
    if not form.is_valid():
        messages.error(request, _("Choose the creditor of the recall file."))
        return redirect("intake:recall")
    cd = form.cleaned_data
    qs = recalled_cases(cd["creditor"], since=cd["since"], until=cd["until"])
    out = tempfile.SpooledTemporaryFile(max_size=32 << 20)
    n = write_recall_file(qs, out, english=(get_language() or "").startswith("en"))
    out.seek(0)
    audit("recall.file", actor=request.user, obj=cd["creditor"], rows=n, since=cd["since"], until=cd["until"])
    day = timezone.localdate().strftime("%Y%m%d")
    return FileResponse(out, as_attachment=True, filename=f"recall-{cd['creditor'].code}-{day}.xlsx")
