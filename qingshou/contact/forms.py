"""The log-contact form (催记). Parses and checks types only; the rules live in do_log_contact."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qingshou.contact.models import FIRST_CALL_CHECKLIST, Channel, Direction, OutcomeCode
from qingshou.core.masking import mask_phone
from qingshou.core.views import SafeModelChoiceMixin, parse_pk
from qingshou.portfolio.models import Party, Phone

DT_FORMAT = "%Y-%m-%dT%H:%M"


class OutcomeSelect(forms.Select):
    """Marks outcomes that open the promise fields, so the page can show them without a round trip."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        instance = getattr(value, "instance", None)
        if instance is not None and instance.opens_promise:
            option["attrs"]["data-opens-promise"] = "1"
        return option


class PhoneChoiceField(SafeModelChoiceMixin, forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{mask_phone(obj.number)} · {obj.get_status_display()}"


class PartyChoiceField(SafeModelChoiceMixin, forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.get_relation_display()}）"


class OutcomeChoiceField(SafeModelChoiceMixin, forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.label


class LogContactForm(forms.Form):
    party = PartyChoiceField(queryset=Party.objects.none(), label=_("Person"), empty_label=None)
    phone = PhoneChoiceField(
        queryset=Phone.objects.none(), label=_("Number"), required=False, empty_label=_("(no number)")
    )
    channel = forms.ChoiceField(choices=Channel.choices, label=_("Channel"), initial=Channel.CALL)
    direction = forms.ChoiceField(choices=Direction.choices, label=_("Direction"), initial=Direction.OUTBOUND)
    started_at = forms.DateTimeField(
        label=_("Start time"),
        required=False,
        input_formats=[DT_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DT_FORMAT),
    )
    duration_seconds = forms.IntegerField(
        label=_("Duration (s)"),
        required=False,
        min_value=0,
        max_value=6 * 3600,
        initial=0,
        widget=forms.NumberInput(attrs={"class": "num"}),
    )
    outcome = OutcomeChoiceField(
        queryset=OutcomeCode.objects.none(),
        label=_("Outcome"),
        empty_label=_("— choose —"),
        widget=OutcomeSelect,
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    purpose = forms.ChoiceField(
        label=_("Purpose"),
        required=False,
        choices=[
            ("", _("(usual: the debt with the debtor, a call-back message with others)")),
            ("collect", _("talk about the debt")),
            ("callback", _("ask to pass on a call-back request")),
            ("locate", _("location information only")),
        ],
    )
    institution_stated = forms.BooleanField(
        label=_("At the opening I stated our institution and my name"), required=False
    )
    promise_amount = forms.DecimalField(
        label=_("Promised amount"),
        required=False,
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "class": "num"}),
    )
    promise_due_date = forms.DateField(
        label=_("Promised date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        parties = Party.objects.filter(debtor_id=case.debtor_id).order_by("id")
        self.fields["party"].queryset = parties
        self.fields["outcome"].queryset = OutcomeCode.objects.filter(is_active=True).order_by("order", "code")
        self.fields["phone"].queryset = Phone.objects.filter(party__debtor_id=case.debtor_id).select_related(
            "party"
        )
        if not self.is_bound:
            self.initial.setdefault("started_at", timezone.localtime().replace(second=0, microsecond=0))
            debtor = next((p for p in parties if p.is_debtor), None)
            if debtor is not None:
                self.initial.setdefault("party", debtor.pk)
        self.show_checklist = case.first_contact_at is None
        # CN first contact: the collector confirms the institution was stated (until a conversation is on file).
        from qingshou.contact.models import ContactAttempt

        self.show_institution = not ContactAttempt.objects.filter(case=case, outcome__right_party=True).exists()
        if self.show_checklist:
            for key, label in FIRST_CALL_CHECKLIST:
                self.fields[f"cl_{key}"] = forms.BooleanField(label=label, required=False)
                self.fields[f"cl_{key}_note"] = forms.CharField(label=label, required=False, max_length=200)

    def clean_started_at(self):
        value = self.cleaned_data.get("started_at")
        if value is not None and not (2000 <= value.year <= 2999):
            raise forms.ValidationError(_("Enter a valid date/time."), code="invalid")
        return value

    def clean_promise_due_date(self):
        value = self.cleaned_data.get("promise_due_date")
        if value is not None and not (2000 <= value.year <= 2999):
            raise forms.ValidationError(_("Enter a valid date."), code="invalid")
        return value

    def promise_open(self) -> bool:
        """Whether the chosen outcome opens the promise fields (rendered open without waiting for JS)."""
        raw = self.data.get("outcome") if self.is_bound else self.initial.get("outcome")
        if not raw:
            return False
        pk = parse_pk(raw)
        return pk is not None and OutcomeCode.objects.filter(pk=pk, opens_promise=True).exists()

    def selected_party_id(self):
        raw = self.data.get("party") if self.is_bound else self.initial.get("party")
        return parse_pk(raw)

    def phone_choices_for_party(self):
        """The phones of the chosen person (the select is narrowed to these)."""
        pid = self.selected_party_id()
        qs = self.fields["phone"].queryset
        return qs.filter(party_id=pid) if pid else qs

    def checklist_rows(self):
        if not self.show_checklist:
            return []
        return [(self[f"cl_{key}"], self[f"cl_{key}_note"]) for key, _label in FIRST_CALL_CHECKLIST]

    def checklist_data(self) -> dict:
        if not self.show_checklist:
            return {}
        data = {}
        for key, _label in FIRST_CALL_CHECKLIST:
            asked = bool(self.cleaned_data.get(f"cl_{key}"))
            note = (self.cleaned_data.get(f"cl_{key}_note") or "").strip()
            if asked or note:
                data[key] = {"asked": asked, "note": note}
        return data

    def action_kwargs(self) -> dict:
        cd = self.cleaned_data
        outcome = cd["outcome"]
        return {
            "party": cd["party"],
            "phone": cd.get("phone"),
            "channel": cd["channel"],
            "direction": cd["direction"],
            "started_at": cd.get("started_at") or timezone.now(),
            "duration_seconds": cd.get("duration_seconds") or 0,
            "outcome": outcome,
            "notes": cd.get("notes") or "",
            "checklist": self.checklist_data(),
            "promise_amount": cd.get("promise_amount") if outcome.opens_promise else None,
            "promise_due_date": cd.get("promise_due_date") if outcome.opens_promise else None,
            "purpose": cd.get("purpose") or None,
            "institution_stated": bool(cd.get("institution_stated")),
        }
