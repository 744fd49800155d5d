from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qingshou.core.fields import EncryptedCharField, EncryptedFieldsModel, LookupHashField
from qingshou.org.models import Creditor, Team

MONEY = {"max_digits": 14, "decimal_places": 2, "default": Decimal("0.00")}


class Placement(models.Model):
    """委案批次: a batch of accounts handed over by a creditor for a period."""

    creditor = models.ForeignKey(Creditor, on_delete=models.PROTECT, related_name="placements",
                                 verbose_name=_("creditor"))
    code = models.CharField(_("batch code"), max_length=64)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("placement")
        verbose_name_plural = _("placements")
        constraints = [models.UniqueConstraint(fields=["creditor", "code"], name="placement_code_unique")]
        ordering = ["-starts_on"]

    def __str__(self):
        return f"{self.creditor.code}/{self.code}"


class Debtor(EncryptedFieldsModel):
    """债务人. The ID number is encrypted at rest; id_number_hash serves exact lookups."""

    class Gender(models.TextChoices):
        MALE = "M", _("male")
        FEMALE = "F", _("female")
        UNKNOWN = "", _("unknown")

    name = models.CharField(_("name"), max_length=100)
    id_number = EncryptedCharField(_("ID number"), max_length=18)
    id_number_hash = LookupHashField(source="id_number")
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    employer = models.CharField(_("employer"), max_length=200, blank=True)
    region = models.CharField(_("region"), max_length=60, blank=True)
    # US preset: the debtor's plausible IANA time zones, comma-separated ("America/New_York,America/Chicago");
    # blank = the policy's default zones (every plausible one).
    timezones = models.CharField(_("time zones"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("debtor")
        verbose_name_plural = _("debtors")
        indexes = [models.Index(fields=["id_number_hash"], name="debtor_id_number_hash")]  # exact lookup

    def __str__(self):
        return self.name


class Relation(models.TextChoices):
    SELF = "self", _("debtor (self)")
    SPOUSE = "spouse", _("spouse")
    PARENT = "parent", _("parent")
    CHILD = "child", _("child")
    SIBLING = "sibling", _("sibling")
    COLLEAGUE = "colleague", _("colleague")
    FRIEND = "friend", _("friend")
    EMERGENCY = "emergency", _("emergency contact")
    EMPLOYER = "employer", _("employer")
    OTHER = "other", _("other")


class Party(models.Model):
    """A person we may contact about a case: the debtor or a third party (联系人)."""

    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="parties", verbose_name=_("debtor"))
    name = models.CharField(_("name"), max_length=100)
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices)

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        ordering = ["id"]

    def __str__(self):
        return f"{self.name} ({self.get_relation_display()})"

    @property
    def is_debtor(self) -> bool:
        return self.relation == Relation.SELF


class Verification(models.TextChoices):
    """Whether a phone or address is confirmed to reach the person (skip tracing, 失联修复)."""

    UNVERIFIED = "unverified", _("unverified")
    VERIFIED = "verified", _("verified")
    WRONG = "wrong", _("wrong")


class Phone(EncryptedFieldsModel):
    """A phone number of a party, encrypted at rest; number_hash serves exact lookups and uniqueness."""

    class Status(models.TextChoices):
        VALID = "valid", _("valid")
        INVALID = "invalid", _("invalid")
        UNKNOWN = "unknown", _("unknown")

    class Source(models.TextChoices):
        PLACEMENT = "placement", _("placement file")
        COLLECTOR = "collector", _("collector")
        SKIP_TRACE = "skip_trace", _("skip tracing")
        DEBTOR = "debtor", _("given by debtor")
        # Lawful skip-tracing sources (失联修复): the closed set qingshou.skiptrace.sources.LAWFUL_SOURCES.
        RESUPPLY = "resupply", _("creditor re-supply file")
        DIR114 = "dir114", _("114 directory")
        PROPERTY = "property", _("property management")
        COMMITTEE = "committee", _("residents' or village committee")
        EMPLOYER = "employer", _("employer")
        REGISTRY = "registry", _("public registry")
        OWN_CONTACTS = "own_contacts", _("the debtor's own contacts")

    # Indexed by Meta.indexes (phone_party). The unique constraint leads with number_hash, so it also serves exact
    # lookups by number: the random hash is in one index only (an import writes phones in hash order).
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="phones", verbose_name=_("party"),
                              db_index=False)
    number = EncryptedCharField(_("number"), max_length=20)
    number_hash = LookupHashField(source="number")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.UNKNOWN)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices, default=Source.PLACEMENT)
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    verification = models.CharField(_("verification"), max_length=10, choices=Verification.choices,
                                    default=Verification.UNVERIFIED, db_default=Verification.UNVERIFIED)

    class Meta:
        verbose_name = _("phone")
        verbose_name_plural = _("phones")
        constraints = [models.UniqueConstraint(fields=["number_hash", "party"], name="phone_unique_per_party")]
        indexes = [models.Index(fields=["party"], name="phone_party")]
        ordering = ["id"]

    def __str__(self):
        from qingshou.core.masking import mask_phone

        return mask_phone(self.number)


class Address(models.Model):
    class Kind(models.TextChoices):
        HOME = "home", _("home address")
        HUKOU = "hukou", _("registered residence")
        WORK = "work", _("work address")
        OTHER = "other", _("other")

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="addresses", verbose_name=_("party"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    text = models.CharField(_("address"), max_length=300)
    source = models.CharField(_("source"), max_length=12, choices=Phone.Source.choices, default=Phone.Source.PLACEMENT,
                              db_default=Phone.Source.PLACEMENT)
    verification = models.CharField(_("verification"), max_length=10, choices=Verification.choices,
                                    default=Verification.UNVERIFIED, db_default=Verification.UNVERIFIED)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")

    def __str__(self):
        return self.text


class Bucket(models.TextChoices):
    M0 = "M0", "M0"
    M1 = "M1", "M1"
    M2 = "M2", "M2"
    M3 = "M3", "M3"
    M4 = "M4", "M4"
    M5 = "M5", "M5"
    M6 = "M6", "M6"
    M7P = "M7+", "M7+"


def bucket_for_dpd(dpd: int) -> str:
    if dpd <= 0:
        return Bucket.M0
    months = (dpd - 1) // 30 + 1
    return Bucket.M7P if months >= 7 else f"M{months}"


class CaseStatus(models.TextChoices):
    ACTIVE = "active", _("in collection")
    SETTLED = "settled", _("settled")
    LEGAL = "legal", _("escalated to legal")
    RECALLED = "recalled", _("recalled")
    CLOSED = "closed", _("closed")


class Case(models.Model):
    """案件: one debtor's delinquent account(s) in one placement."""

    # placement, creditor, team and assigned_to have no single-column index: each leads a composite one in
    # Meta (case_account_unique, (creditor, status), (team, status), (assigned_to, status)), which serves the
    # same lookups, and every index is one more write per case imported.
    placement = models.ForeignKey(Placement, on_delete=models.PROTECT, related_name="cases",
                                  verbose_name=_("placement"), db_index=False)
    debtor = models.ForeignKey(Debtor, on_delete=models.PROTECT, related_name="cases", verbose_name=_("debtor"))
    # Denormalised from placement for the scoping query's sake (creditor users see their own only).
    creditor = models.ForeignKey(Creditor, on_delete=models.PROTECT, related_name="cases",
                                 verbose_name=_("creditor"), db_index=False)
    # account_number and status: plain indexes in Meta (no varchar_pattern_ops "_like" twin on PostgreSQL: nothing
    # queries them with LIKE 'prefix%'; icontains is UPPER(…) LIKE '%…%', which no btree serves).
    account_number = models.CharField(_("account number"), max_length=40)
    product = models.CharField(_("product"), max_length=60)
    dpd = models.PositiveIntegerField(_("days past due"), default=0)
    bucket = models.CharField(_("bucket"), max_length=4, choices=Bucket.choices, default=Bucket.M1)
    principal = models.DecimalField(_("principal"), **MONEY)
    interest = models.DecimalField(_("interest"), **MONEY)
    late_fees = models.DecimalField(_("late fees"), **MONEY)
    other_fees = models.DecimalField(_("other fees"), **MONEY)
    total_due = models.DecimalField(_("balance"), **MONEY)
    status = models.CharField(_("status"), max_length=10, choices=CaseStatus.choices, default=CaseStatus.ACTIVE)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="cases",
                             verbose_name=_("team"), db_index=False)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="assigned_cases", verbose_name=_("collector"), db_index=False)
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    first_contact_at = models.DateTimeField(_("first contact"), null=True, blank=True)
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    next_work_at = models.DateTimeField(_("next follow-up"), null=True, blank=True, db_index=True)
    # Indexed where set only (case_locked_by): an imported case has none, and lookups are by a given user.
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("locked by"), db_index=False)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)
    # 留案: the agency keeps this case past its placement's end, up to and including this day.
    retained_until = models.DateField(_("retained until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            models.UniqueConstraint(fields=["placement", "account_number"], name="case_account_unique"),
        ]
        indexes = [
            models.Index(fields=["account_number"], name="case_account_number"),
            models.Index(fields=["status"], name="case_status"),
            models.Index(fields=["assigned_to", "status"]),
            # Where a team is set only: nothing looks for the cases of no team, and an imported case has none.
            models.Index(fields=["team", "status"], name="case_team_status", condition=models.Q(team__isnull=False)),
            models.Index(fields=["locked_by"], name="case_locked_by", condition=models.Q(locked_by__isnull=False)),
            models.Index(fields=["creditor", "status"]),
        ]

    def __str__(self):
        return f"{self.account_number}"

    @property
    def first_call_due_at(self):
        if not self.assigned_at:
            return None
        return self.assigned_at + timezone.timedelta(days=settings.FIRST_CALL_DAYS)

    @property
    def first_call_overdue(self) -> bool:
        due = self.first_call_due_at
        return bool(due and self.first_contact_at is None and due < timezone.now())


class CaseStatusChange(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="status_history")
    from_status = models.CharField(max_length=10, choices=CaseStatus.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=CaseStatus.choices)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.case_id}: {self.from_status} -> {self.to_status}"


class HoldReason(models.TextChoices):
    DECEASED = "deceased", _("deceased")
    FRAUD = "fraud", _("suspected fraud")
    COMPLAINT = "complaint", _("complaint")
    DISPUTE = "dispute", _("dispute")
    OTHER = "other", _("other")
    LEGAL = "legal", _("legal action")
    ATTORNEY = "attorney", _("represented by an attorney")
    RECALLED = "recalled", _("recalled by the creditor")
    CLOSED = "closed", _("case closed")
    CEASE = "cease", _("cease communication requested")


class CaseHold(models.Model):
    """A hold stops collection work on a case until released; separate from status."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="holds", verbose_name=_("case"))
    reason = models.CharField(_("reason"), max_length=12, choices=HoldReason.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    placed_at = models.DateTimeField(_("placed at"), auto_now_add=True)
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")

    class Meta:
        verbose_name = _("hold")
        verbose_name_plural = _("holds")
        ordering = ["-placed_at"]

    def __str__(self):
        return f"{self.get_reason_display()} ({self.case_id})"


class Assignment(models.Model):
    """History of 分案 / 调案 / 收案: who held the case when, and why it moved."""

    class Kind(models.TextChoices):
        ASSIGN = "assign", _("assignment")
        REASSIGN = "reassign", _("reassignment")
        WITHDRAW = "withdraw", _("withdrawal")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="assignments")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.case_id}"


def case_event_types():
    """CaseEvent.Type's choices, as a callable so that a new event type needs no migration."""
    return CaseEvent.Type.choices


class CaseEvent(models.Model):
    """One entry of a case's timeline. Built only through the constructors in portfolio.events."""

    class Type(models.TextChoices):
        PLACED = "placed", _("placed")
        REPLACED = "replaced", _("re-placed")
        ASSIGNED = "assigned", _("assigned")
        REASSIGNED = "reassigned", _("reassigned")
        WITHDRAWN = "withdrawn", _("withdrawn")
        CONTACT_LOGGED = "contact_logged", _("contact logged")
        CONTACT_REFUSED = "contact_refused", _("contact refused by compliance")
        PROMISE_MADE = "promise_made", _("promise to pay")
        PROMISE_KEPT = "promise_kept", _("promise kept")
        PROMISE_BROKEN = "promise_broken", _("promise broken")
        PAYMENT_RECEIVED = "payment_received", _("payment received")
        HOLD_PLACED = "hold_placed", _("hold placed")
        HOLD_RELEASED = "hold_released", _("hold released")
        STATUS_CHANGED = "status_changed", _("status changed")
        PHONE_STATUS = "phone_status", _("phone status changed")
        PII_REVEALED = "pii_revealed", _("full number viewed")
        RECALLED = "recalled", _("recalled")
        RETAINED = "retained", _("retained")
        DNC_ADDED = "dnc_added", _("do-not-contact added")
        DNC_LIFTED = "dnc_lifted", _("do-not-contact lifted")
        PREFERENCE_ADDED = "pref_added", _("contact-time preference added")
        PREFERENCE_REMOVED = "pref_removed", _("contact-time preference removed")
        CONTENT_FLAGGED = "content_flagged", _("note flagged for QA")
        SMS_QUEUED = "sms_queued", _("SMS queued")
        SMS_STATUS = "sms_status", _("SMS status")
        SMS_REPLY = "sms_reply", _("SMS reply received")
        LETTER_GENERATED = "letter_generated", _("letter generated")
        LETTER_DISPATCH = "letter_dispatch", _("letter dispatch updated")
        SELFSERVICE_LINK = "ss_link", _("self-service link issued")
        SELFSERVICE_VERIFIED = "ss_verified", _("debtor confirmed identity on self-service")
        SELFSERVICE_PLAN = "ss_plan_request", _("plan requested on self-service")
        PHONE_ADDED = "phone_added", _("phone added")
        ADDRESS_ADDED = "address_added", _("address added")
        EMPLOYER_ADDED = "employer_added", _("employer added")
        LEAD_VERIFIED = "lead_verified", _("contact information verified")
        LOST_CONTACT = "lost_contact", _("lost contact")
        CONTACT_RECOVERED = "contact_recovered", _("contact recovered")
        PLAN_PROPOSED = "plan_proposed", _("repayment plan proposed")
        PLAN_APPROVED = "plan_approved", _("repayment plan approved")
        PLAN_REJECTED = "plan_rejected", _("repayment plan rejected")
        PLAN_BROKEN = "plan_broken", _("repayment plan broken")
        PLAN_COMPLETED = "plan_completed", _("repayment plan completed")
        OFFER_PROPOSED = "offer_proposed", _("waiver/settlement proposed")
        OFFER_APPROVED = "offer_approved", _("waiver/settlement approved")
        OFFER_REJECTED = "offer_rejected", _("waiver/settlement rejected")
        OFFER_COMMUNICATED = "offer_communicated", _("offer told to the debtor")
        OFFER_EXPIRED = "offer_expired", _("offer expired")
        WRITTEN_OFF = "written_off", _("balance written off")
        CALL_PLACED = "call_placed", _("call placed through the dialer")
        CALL_COMPLETED = "call_completed", _("dialer call completed")
        RECORDING_MISSING = "recording_missing", _("call without a recording (QA)")
        RECORDING_STORED = "recording_stored", _("call recording stored")
        NOTE = "note", _("note")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", db_index=False)  # (case, -at)
    type = models.CharField(max_length=24, choices=case_event_types)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["case", "-at"])]

    def __str__(self):
        return f"{self.get_type_display()} {self.at:%Y-%m-%d %H:%M}"


# --- Intake (委案导入): profiles, import runs, their row errors, and per-case history snapshots -------------


class ImportKind(models.TextChoices):
    PLACEMENT = "placement", _("placement file")
    PAYMENT = "payment", _("repayment file")


class ImportProfile(models.Model):
    """A creditor's file layout: which of its column headers holds which of our fields. Editable data."""

    creditor = models.ForeignKey(Creditor, on_delete=models.CASCADE, related_name="import_profiles",
                                 verbose_name=_("creditor"))
    kind = models.CharField(_("kind"), max_length=10, choices=ImportKind.choices, default=ImportKind.PLACEMENT)
    name = models.CharField(_("name"), max_length=60)
    # {our_field: their header}, e.g. {"name": "客户姓名", "id_number": "证件号码"}
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    # e.g. {"encoding": "gbk", "sheet": "Sheet1", "amount_tolerance": "0.01", "date_format": "%Y/%m/%d"}
    options = models.JSONField(_("options"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("import profile")
        verbose_name_plural = _("import profiles")
        constraints = [models.UniqueConstraint(fields=["creditor", "kind", "name"], name="import_profile_unique")]
        ordering = ["creditor", "name"]

    def __str__(self):
        return f"{self.creditor.code}/{self.name}"


class Import(models.Model):
    """One run of a creditor file through intake: who, when, which file (sha256), counts and outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")  # the program failed (unreadable file, crash); nothing loaded
        REJECTED = "rejected", _("rejected")  # invalid rows and not skip_invalid; nothing loaded
        NO_OP = "no_op", _("already imported")

    kind = models.CharField(_("kind"), max_length=10, choices=ImportKind.choices, default=ImportKind.PLACEMENT)
    creditor = models.ForeignKey(Creditor, on_delete=models.PROTECT, related_name="imports",
                                 verbose_name=_("creditor"))
    placement = models.ForeignKey(Placement, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="imports", verbose_name=_("placement"))
    placement_code = models.CharField(_("batch code"), max_length=64, blank=True)
    profile = models.ForeignKey(ImportProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("profile"))
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    options = models.JSONField(_("options"), default=dict, blank=True)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", max_length=255, blank=True)
    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    size = models.BigIntegerField(_("size"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING,
                              db_index=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    skip_invalid = models.BooleanField(_("skip invalid rows"), default=False)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    valid_rows = models.PositiveIntegerField(_("valid rows"), default=0)
    invalid_rows = models.PositiveIntegerField(_("invalid rows"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    progress = models.PositiveIntegerField(_("rows done"), default=0)
    error_report = models.FileField(_("error report"), upload_to="imports/errors/%Y/%m/", max_length=255,
                                    blank=True)
    message = models.TextField(_("message"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["creditor", "kind", "sha256"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.file_name} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status not in (self.Status.PENDING, self.Status.RUNNING)


class ImportRowError(models.Model):
    """One problem of one row (or of the file, row 0): row, column, masked value, reason."""

    imp = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="row_errors", verbose_name=_("import"))
    row = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=100, blank=True)
    value = models.CharField(_("value (masked)"), max_length=200, blank=True)
    code = models.CharField(_("error kind"), max_length=32)
    reason = models.CharField(_("reason"), max_length=300)  # English msgid; reason_zh is the Chinese text
    reason_zh = models.CharField(_("reason (Chinese)"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("import row error")
        verbose_name_plural = _("import row errors")
        ordering = ["row", "id"]

    def __str__(self):
        return f"{self.row} {self.column}: {self.reason}"


class CaseSnapshot(models.Model):
    """The DPD, bucket and balances a case had before a re-placement changed them (history)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="snapshots", verbose_name=_("case"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    imp = models.ForeignKey(Import, null=True, blank=True, on_delete=models.SET_NULL, related_name="snapshots",
                            verbose_name=_("import"))
    placement = models.ForeignKey(Placement, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                  verbose_name=_("placement"))
    dpd = models.PositiveIntegerField(_("days past due"), default=0)
    bucket = models.CharField(_("bucket"), max_length=4, choices=Bucket.choices)
    principal = models.DecimalField(_("principal"), **MONEY)
    interest = models.DecimalField(_("interest"), **MONEY)
    late_fees = models.DecimalField(_("late fees"), **MONEY)
    other_fees = models.DecimalField(_("other fees"), **MONEY)
    total_due = models.DecimalField(_("balance"), **MONEY)

    class Meta:
        verbose_name = _("case snapshot")
        verbose_name_plural = _("case snapshots")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.case_id} @ {self.at:%Y-%m-%d}"
