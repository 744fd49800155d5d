"""API of skip tracing: record a new phone / address / employer on a case (lawful sources only)."""

from __future__ import annotations

from datetime import datetime

from ninja import Path, Router, Schema, Status
from pydantic import Field

from qingshou.api import schemas as s
from qingshou.api.errors import ApiValidationError, deny, field_errors_from_action
from qingshou.core.errors import ActionError
from qingshou.core.masking import mask_phone
from qingshou.core.scoping import can, get_visible_case, workable_cases
from qingshou.portfolio.models import Address, Party, Verification
from qingshou.skiptrace.actions import do_add_lead
from qingshou.skiptrace.models import LostContact

router = Router(tags=["skip tracing"])

ERRORS = {400: s.FieldErrorsOut, 401: s.ErrorOut, 403: s.ErrorOut, 404: s.ErrorOut, 422: s.FieldErrorsOut}


class LeadIn(Schema):
    kind: str = Field(..., max_length=8, description="phone | address | employer")
    value: str = Field(..., min_length=1, max_length=300, description="the number, the address or the employer")
    source: str = Field(..., max_length=40, description="a lawful source: resupply, dir114, property, committee, "
                                                        "employer, registry, own_contacts (anything else: 422)")
    verification: str = Field(Verification.UNVERIFIED, max_length=10, description="unverified | verified | wrong")
    party_id: int | None = Field(None, ge=1, le=s.MAX_ID, description="default: the debtor")
    new_party_name: str = Field("", max_length=100)
    new_party_relation: str = Field("", max_length=16)
    address_kind: str = Field(Address.Kind.HOME, max_length=8)
    note: str = Field("", max_length=300)


class LeadOut(Schema):
    id: int
    case_id: int
    kind: str
    source: str
    verification: str
    value: str  # a phone number masked
    found_at: datetime
    lost_contact: bool


FIELDS = {"number": "value", "address_text": "value", "employer": "value", "party": "party_id",
          "new_relation": "new_party_relation"}


@router.post(
    "/cases/{case_id}/leads",
    response={201: LeadOut, **ERRORS},
    operation_id="lead_create",
    summary="Record a new phone, address or employer found by skip tracing (失联修复)",
    description="Only lawful sources are accepted; 422 names the field for anything else. A verified "
    "phone clears the case's lost-contact flag.",
)
def lead_create(request, payload: LeadIn, case_id: int = Path(..., ge=1, le=s.MAX_ID)):
    user = request.auth
    if not can(user, "case.work"):
        raise deny(request, capability="case.work", case_id=case_id)
    case = get_visible_case(user, case_id)
    if not workable_cases(user).filter(pk=case.pk).exists():
        raise deny(request, capability="case.work", case_id=case.pk)
    party = None
    if payload.party_id is not None:
        party = Party.objects.filter(pk=payload.party_id, debtor_id=case.debtor_id).first()
        if party is None:
            raise ApiValidationError({"party_id": [str(_not_party())]})
    kwargs = {"kind": payload.kind, "source": payload.source, "verification": payload.verification, "party": party,
              "new_party_name": payload.new_party_name, "new_party_relation": payload.new_party_relation,
              "note": payload.note, "number": payload.value, "address_text": payload.value,
              "address_kind": payload.address_kind, "employer": payload.value}
    try:
        lead = do_add_lead(case, acting_user=user, **kwargs)
    except ActionError as exc:
        raise ApiValidationError(field_errors_from_action(exc, FIELDS)) from exc
    value = mask_phone(lead.phone.number) if lead.phone_id else (lead.address.text if lead.address_id
                                                                  else lead.employer)
    lost = LostContact.objects.filter(case=case, cleared_at__isnull=True).exists()
    return Status(201, {"id": lead.pk, "case_id": case.pk, "kind": lead.kind, "source": lead.source,
                        "verification": lead.verification, "value": value, "found_at": lead.found_at,
                        "lost_contact": lost})


def _not_party():
    from django.utils.translation import gettext as _

    return _("This person is not a party to the case.")
