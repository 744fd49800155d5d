from django import forms
from django.utils.translation import gettext_lazy as _

from qingshou.core.errors import ActionError
from qingshou.org.models import Creditor
from qingshou.portfolio.models import Address, Relation, Verification
from qingshou.skiptrace.models import Lead
from qingshou.skiptrace.sources import check_source, source_choices

NEW_RELATIONS = [("", "—")] + [(v, label) for v, label in Relation.choices if v != Relation.SELF]


class LeadForm(forms.Form):
    """A new phone / address / employer for a case. The source is a closed list, checked on the server too."""

    kind = forms.ChoiceField(label=_("What"), choices=Lead.Kind.choices, initial=Lead.Kind.PHONE)
    value = forms.CharField(label=_("Number, address or employer"), max_length=300)
    source = forms.CharField(label=_("Source"), max_length=40, widget=forms.Select)
    verification = forms.ChoiceField(label=_("Verification"), choices=Verification.choices,
                                     initial=Verification.UNVERIFIED)
    party = forms.TypedChoiceField(label=_("Belongs to"), coerce=int, required=False, empty_value=None)
    new_party_name = forms.CharField(label=_("or a new person: name"), max_length=100, required=False)
    new_party_relation = forms.ChoiceField(label=_("relation"), choices=NEW_RELATIONS, required=False)
    address_kind = forms.ChoiceField(label=_("Address kind"), choices=Address.Kind.choices, initial=Address.Kind.HOME,
                                     required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["source"].widget.choices = [("", "—")] + source_choices()
        self.fields["party"].choices = [(p.pk, f"{p.name}（{p.get_relation_display()}）")
                                        for p in sorted(case.debtor.parties.all(), key=lambda p: p.pk)]

    def clean_source(self):
        try:
            return check_source(self.cleaned_data["source"])
        except ActionError as exc:
            raise forms.ValidationError(exc.messages[0]) from None

    def lead_kwargs(self) -> dict:
        d = self.cleaned_data
        party = self.case.debtor.parties.filter(pk=d["party"]).first() if d.get("party") else None
        out = {"kind": d["kind"], "source": d["source"], "verification": d["verification"], "party": party,
               "new_party_name": d.get("new_party_name", ""), "new_party_relation": d.get("new_party_relation", ""),
               "note": d.get("note", "")}
        if d["kind"] == Lead.Kind.PHONE:
            out["number"] = d["value"]
        elif d["kind"] == Lead.Kind.ADDRESS:
            out["address_text"] = d["value"]
            out["address_kind"] = d.get("address_kind") or Address.Kind.HOME
        else:
            out["employer"] = d["value"]
        return out


class EnrichmentUploadForm(forms.Form):
    creditor = forms.ModelChoiceField(label=_("Creditor"), queryset=Creditor.objects.order_by("code"))
    file = forms.FileField(label=_("Enrichment file (CSV, XLSX or XLS)"))
