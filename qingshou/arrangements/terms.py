"""The creditor's terms in force: the newest version, or the defaults when the creditor has none yet."""

from __future__ import annotations

from qingshou.arrangements.models import CreditorTerms


def current_terms(creditor_id: int) -> CreditorTerms:
    terms = CreditorTerms.objects.filter(creditor_id=creditor_id).order_by("-version").first()
    if terms is None:
        terms = CreditorTerms(creditor_id=creditor_id, version=0)  # the model's defaults, not saved
    return terms
