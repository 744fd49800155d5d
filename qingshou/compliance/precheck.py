"""A read-only preview of the compliance decision for a contact the collector is about to make.

The case page asks this while the collector picks the person, number and channel, so that a refusal
(and the next permitted time) shows before anyone dials. Nothing is stored: the real decision is
made, and stored as evidence, by `contact.actions.do_log_contact` when the contact is logged.

The request is built the way do_log_contact builds it, with one difference: the CN rule "state the
institution at first contact" is about what is said in the call, which cannot be known before it;
the preview assumes the collector will state it (the log-contact form asks for the confirmation).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from qingshou.compliance.hook import ContactRequest, Decision, check_contact
from qingshou.compliance.types import CALLBACK, COLLECT, LOCATE

PURPOSES = (COLLECT, LOCATE, CALLBACK)


def preview_contact(case, *, party, phone=None, channel: str, at: datetime | None = None,
                    purpose: str | None = None, acting_user=None) -> Decision:
    """The decision the engine would give now (or at `at`) for this contact; no database writes."""
    if purpose not in PURPOSES:
        purpose = None
    request = ContactRequest(
        case_id=case.pk, party_id=party.pk, phone_id=phone.pk if phone else None, channel=channel,
        at=at or timezone.now(), party_is_debtor=party.is_debtor, party_relation=party.relation,
        purpose=purpose or (COLLECT if party.is_debtor else CALLBACK),
        requested_by_id=acting_user.pk if acting_user else None, institution_stated=True,
    )
    return check_contact(request)
