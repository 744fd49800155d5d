"""Request and response schemas. Money is a string with two decimals; phone and ID numbers are masked."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import AfterValidator, BaseModel, Field

from qingshou.contact.models import FIRST_CALL_CHECKLIST, Channel, Direction
from qingshou.payments.models import Promise
from qingshou.portfolio.models import Bucket, CaseStatus

MAX_ID = 2**63 - 1
MAX_OFFSET = 10**9
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


def _clean_text(value: str | None) -> str | None:
    """No NUL characters (PostgreSQL refuses them) and no lone surrogates (not encodable as UTF-8)."""
    if value is None:
        return value
    if "\x00" in value:
        raise ValueError(_("Text may not contain NUL characters."))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(_("Text contains characters that are not valid Unicode.")) from None
    return value


def _sane_datetime(value: datetime | None) -> datetime | None:
    if value is not None and not (2000 <= value.year <= 2999):
        raise ValueError(_("The date is out of range."))
    return value


def _sane_date(value: date | None) -> date | None:
    if value is not None and not (2000 <= value.year <= 2999):
        raise ValueError(_("The date is out of range."))
    return value


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Text = Annotated[str, AfterValidator(_clean_text)]
SaneDate = Annotated[date, AfterValidator(_sane_date)]
SaneDateTime = Annotated[datetime, AfterValidator(_sane_datetime)]
Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2, allow_inf_nan=False)]
ChecklistKey = Literal[tuple(key for key, _label in FIRST_CALL_CHECKLIST)]  # type: ignore[valid-type]

ChannelCode = Literal[tuple(Channel.values)]  # type: ignore[valid-type]
DirectionCode = Literal[tuple(Direction.values)]  # type: ignore[valid-type]
PurposeCode = Literal["collect", "callback", "locate"]
CaseStatusCode = Literal[tuple(CaseStatus.values)]  # type: ignore[valid-type]
BucketCode = Literal[tuple(Bucket.values)]  # type: ignore[valid-type]
PromiseStatusCode = Literal[tuple(Promise.Status.values)]  # type: ignore[valid-type]


# --- errors ---------------------------------------------------------------------------------


class ErrorOut(Schema):
    detail: str


class FieldErrorsOut(Schema):
    detail: str
    errors: dict[str, list[str]] = Field(
        description="Messages per field; '__all__' for the request as a whole."
    )


class ReasonOut(Schema):
    rule: str
    layer: str
    message_zh: str
    message_en: str


class RefusalOut(Schema):
    detail: str
    allowed: bool = False
    reasons: list[ReasonOut]
    next_allowed_at: datetime | None = Field(None, description="Earliest time the same contact is allowed.")


# --- query parameters -----------------------------------------------------------------------


class PageIn(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class CaseFilterIn(PageIn):
    status: CaseStatusCode | None = None
    bucket: BucketCode | None = None
    creditor: Annotated[Text, Field(max_length=32)] | None = Field(None, description="Creditor code.")
    dpd_min: int | None = Field(None, ge=0, le=100_000)
    dpd_max: int | None = Field(None, ge=0, le=100_000)
    q: Annotated[Text, Field(max_length=40)] | None = Field(
        None, description="Part of the account number, or a full phone or ID number.")


class PromiseFilterIn(PageIn):
    status: PromiseStatusCode | None = None
    due_after: SaneDate | None = Field(None, description="Due on or after this date.")
    due_before: SaneDate | None = Field(None, description="Due on or before this date.")


# --- request bodies -------------------------------------------------------------------------


class ContactIn(Schema):
    party_id: Id
    phone_id: Id | None = Field(None, description="Required for calls and SMS.")
    channel: ChannelCode = Channel.CALL.value
    direction: DirectionCode = Direction.OUTBOUND.value
    started_at: SaneDateTime | None = Field(
        None, description="When the contact started; default now. Without an offset, Asia/Shanghai time."
    )
    duration_seconds: int = Field(0, ge=0, le=2_000_000_000)
    outcome: Annotated[Text, Field(min_length=1, max_length=32)] = Field(
        description="Outcome code, see /outcomes."
    )
    notes: Annotated[Text, Field(max_length=4000)] = ""
    checklist: dict[ChecklistKey, bool] = Field(default_factory=dict, description="First-call checklist.")
    recording_ref: Annotated[Text, Field(max_length=200)] = ""
    promise_amount: Money | None = Field(None, description="Required when the outcome records a promise.")
    promise_due_date: SaneDate | None = None
    purpose: PurposeCode | None = Field(
        None, description="collect | callback | locate; default: collect with the debtor, callback with others."
    )
    institution_stated: bool = Field(
        False, description="The opening stated the institution (needed for the first conversation, CN preset)."
    )
    text: Annotated[Text, Field(max_length=4000)] = Field(
        "", description="Outgoing SMS / letter text, checked by the content scanner (blocked on a hit)."
    )


class PromiseIn(Schema):
    amount: Money
    due_date: SaneDate
    party_id: Id | None = Field(None, description="Who promised; a party of the case.")


class CancelIn(Schema):
    reason: Annotated[Text, Field(min_length=1, max_length=300)]


# --- responses ------------------------------------------------------------------------------


class CodeName(Schema):
    code: str
    name: str


class UserRef(Schema):
    id: int
    username: str
    name: str


class CaseOut(Schema):
    id: int
    account_number: str
    product: str
    creditor: CodeName
    placement: str
    debtor_name: str
    dpd: int
    bucket: str
    status: str
    status_label: str
    total_due: str
    team: CodeName | None
    assigned_to: UserRef | None
    assigned_at: datetime | None
    first_contact_at: datetime | None
    last_contact_at: datetime | None
    next_work_at: datetime | None
    on_hold: bool
    promise_due: bool = Field(description="A pending promise is due today or overdue.")
    first_call_overdue: bool = Field(description="Not called within the first-call window after assignment.")
    priority: int = Field(description="Queue priority: 0 promise due, 1 first call overdue, 2 normal.")


class CasePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[CaseOut]


class PhoneOut(Schema):
    id: int
    number_masked: str
    status: str
    status_label: str
    source: str


class PartyOut(Schema):
    id: int
    name: str = Field(description="Third parties' names are masked.")
    relation: str
    relation_label: str
    is_debtor: bool
    phones: list[PhoneOut]


class DebtorOut(Schema):
    name: str
    id_number_masked: str
    gender: str
    region: str


class BalancesOut(Schema):
    principal: str
    interest: str
    late_fees: str
    other_fees: str
    total_due: str


class HoldOut(Schema):
    id: int
    reason: str
    reason_label: str
    note: str
    placed_at: datetime


class EventOut(Schema):
    id: int
    type: str
    type_label: str
    at: datetime
    user: str | None
    data: dict


class PromiseOut(Schema):
    id: int
    case_id: int
    account_number: str
    amount: str
    due_date: date
    status: str
    status_label: str
    paid_amount: str
    party_id: int | None
    contact_id: int | None
    created_at: datetime
    created_by: str
    resolved_at: datetime | None


class PromisePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[PromiseOut]


class CaseDetailOut(CaseOut):
    debtor: DebtorOut
    balances: BalancesOut
    parties: list[PartyOut]
    holds: list[HoldOut] = Field(description="Active holds.")
    events: list[EventOut] = Field(description="The most recent timeline events, newest first.")
    pending_promises: list[PromiseOut]


class OutcomeRef(Schema):
    code: str
    label: str


class ContactOut(Schema):
    id: int
    case_id: int
    party_id: int
    party_relation: str
    phone_id: int | None
    phone_masked: str
    channel: str
    direction: str
    started_at: datetime
    duration_seconds: int
    outcome: OutcomeRef
    notes: str
    noted_at: datetime
    recording_ref: str
    checklist: dict
    collector: str


class ContactPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[ContactOut]


class DecisionOut(Schema):
    allowed: bool
    policy_version: str


class ContactCreatedOut(Schema):
    contact: ContactOut
    promise: PromiseOut | None
    decision: DecisionOut


class OutcomeOut(Schema):
    code: str
    label: str
    label_zh: str
    label_en: str
    connected: bool
    right_party: bool
    third_party: bool
    opens_promise: bool
    stop_today: bool
    marks_phone_invalid: bool
    marks_phone_valid: bool
    hold_reason: str


class MeOut(Schema):
    id: int
    username: str
    name: str
    role: str
    role_label: str
    team: CodeName | None
    branch: CodeName | None
    creditor: CodeName | None
    capabilities: list[str]


# --- dialer ---------------------------------------------------------------------------------

DIALER_BATCH_MAX = 1000
DIALER_FEED_MAX = 100


INSTITUTION_HELP = ("The dialer's call flow opens by stating the institution (an approved announcement or "
                    "script). Without it, a first conversation with a debtor under the CN preset is refused.")


class DialerNextIn(Schema):
    limit: int = Field(10, ge=1, le=DIALER_FEED_MAX)
    institution_stated: bool = Field(False, description=INSTITUTION_HELP)


class DialerNumberOut(Schema):
    case_id: int
    party_id: int
    phone_id: int
    relation: str
    is_debtor: bool
    number: str = Field(description="The full number (the caller holds dialer.feed; each feed is audited).")
    number_masked: str
    policy_version: str


class DialerNextOut(Schema):
    count: int
    checked: int = Field(description="How many candidate numbers were put to the compliance engine.")
    items: list[DialerNumberOut]


class DialerCheckItemIn(BaseModel):
    """A plain pydantic model (not a ninja Schema): ninja's per-object root validator costs ~50 µs,
    which for 1,000 items is half the batch check's budget."""


    case_id: Id
    party_id: Id
    phone_id: Id
    channel: Literal["call", "robot", "sms"] = "call"


class DialerCheckIn(BaseModel):
    items: list[DialerCheckItemIn] = Field(min_length=1, max_length=DIALER_BATCH_MAX)
    at: SaneDateTime | None = Field(None, description="When the calls would be made; default now.")
    institution_stated: bool = Field(False, description=INSTITUTION_HELP)


class DialerCheckItemOut(Schema):
    case_id: int
    party_id: int
    phone_id: int
    channel: str
    allowed: bool
    reasons: list[ReasonOut]
    next_allowed_at: datetime | None
    decision_id: int | None = Field(None, description="The stored decision; None when the item was not found.")
    error: str = Field("", description="'not_found' when the case is not yours or the party/phone not in it.")


class DialerCheckOut(Schema):
    count: int
    allowed: int
    policy_versions: list[str]
    items: list[DialerCheckItemOut]
