from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qingshou.arrangements.models import CreditorTerms, HardshipReason, Offer


class PlanForm(forms.Form):
    instalments = forms.IntegerField(label=_("Instalments"), min_value=1, max_value=60, initial=12)
    first_payment = forms.DecimalField(label=_("First payment"), max_digits=14, decimal_places=2, min_value=0)
    start_date = forms.DateField(label=_("First due date"), widget=forms.DateInput(attrs={"type": "date"}))
    hardship_reason = forms.ChoiceField(label=_("Hardship reason"), choices=HardshipReason.choices)
    hardship_detail = forms.CharField(label=_("Hardship details"), max_length=300, required=False)
    note = forms.CharField(label=_("Note for the approvers"), max_length=500, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))
    document = forms.FileField(label=_("Supporting document"), required=False)

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        if case is not None and not self.is_bound:
            self.initial.setdefault("start_date", (timezone.localdate() + timedelta(days=7)).isoformat())
            self.initial.setdefault("first_payment", (case.total_due * 10 // 100))


class OfferForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Offer.Kind.choices)
    interest_waived = forms.DecimalField(label=_("Interest waived"), max_digits=14, decimal_places=2, min_value=0,
                                         required=False)
    fees_waived = forms.DecimalField(label=_("Fees waived"), max_digits=14, decimal_places=2, min_value=0,
                                     required=False)
    settle_amount = forms.DecimalField(label=_("Settlement amount"), max_digits=14, decimal_places=2, min_value=0,
                                       required=False)
    note = forms.CharField(label=_("Note for the approvers"), max_length=500, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))


class ReviewForm(forms.Form):
    op = forms.ChoiceField(choices=[("approve", "approve"), ("reject", "reject")])
    comment = forms.CharField(label=_("Comment"), max_length=500, required=False)


class TermsForm(forms.ModelForm):
    note = forms.CharField(label=_("Reason for the change"), max_length=300)

    class Meta:
        model = CreditorTerms
        fields = list(CreditorTerms.EDITABLE)
