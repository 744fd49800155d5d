"""The adapter: builds the engine's `Context` from the database. The engine itself never queries.

    context = build_context(request)                 # one request (log-contact form, API, call button)
    contexts = ContextLoader(requests).contexts()    # a batch (dialer feed / batch check): same queries

Loading is batched: whatever the number of requests, one query each for cases, contact history,
holds, do-not-contact requests, contact-time preferences, phones, published policy layers, calendar
dates (and, only when a policy asks "third party once", one for located third parties). No N+1.

What goes in:
* history: every outbound ContactAttempt with any party of the case's debtor from 8 days before the
  request (the US 7-in-7 window plus a day for zones) to a day after it, across all cases of that
  debtor for the same creditor. The CN cap on conversations counts "across all of the creditor's
  agencies": we only hold our own records, so `agency` is always "" (ours) and the cap is applied
  to our data; other agencies' contacts would need a feed from the creditor.
  PastContact flags come from the OutcomeCode: connected, right_party, stop_today, refused (a third
  party's refusal: OutcomeCode.refused, e.g. "tp_refused" 第三方拒绝转告) and reached_line (False
  for outcomes that mean the call never reached the line: powered off, number invalid).
* facts: active holds of the case (deceased also from any hold, active or released, on any of the
  debtor's cases: the CN "debtor deceased" route to third parties), do-not-contact requests (a phone:
  that number by any channel, or only by its channel when one is set, e.g. an SMS opt-out reply; no
  phone: that channel, or every channel when blank), preferences
  (inconvenient / agreed windows), invalid phones, the debtor's own phone ids, time zones (CN:
  Asia/Shanghai; US: Debtor.timezones, else the policy's default zones = every plausible one),
  cease / dispute / attorney from holds, institution_stated (a right-party contact on the case
  before the request), third parties already reached (US "once").
* calendar: compliance.calendar (holidays package + CalendarDate rows, creditor blackout dates).
* template: the messaging.TemplateVersion named by `request.template_id` (`load_template()`).
* policy: published layers (compliance.policies) + a case layer with the debtor's own requests.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from functools import lru_cache

from django.db.models import Min, Q

from qingshou.compliance import policies
from qingshou.compliance.calendar import build_calendars, window_for
from qingshou.compliance.types import (
    CaseFacts,
    ContactRequest,
    Context,
    PastContact,
    Template,
    TimeWindow,
)

HISTORY_BEFORE = timedelta(days=8)
HISTORY_AFTER = timedelta(days=1)
CN_ZONES = ("Asia/Shanghai",)
ALL_CHANNELS = ("call", "sms", "letter", "visit", "robot")
# Outcomes whose call never reached the dialed line (Reg F 1006.14(b)(3): not counted in 7-in-7).
UNREACHED_CODES = frozenset({"powered_off", "invalid_number"})
HOLD_FACTS = {"cease": "cease_communication", "dispute": "written_dispute_open", "attorney": "attorney_represented"}


@lru_cache(maxsize=256)
def _valid_zone(name: str) -> bool:
    return policies._valid_zone(name)


def load_template(template_id: int | None) -> Template | None:
    """The template version a request names (messaging.TemplateVersion id): approved, active, safe flag."""
    if template_id is None:
        return None
    from qingshou.messaging.templates import compliance_template

    return compliance_template(template_id)


class _CaseInfo:
    __slots__ = ("pk", "debtor_id", "creditor_id", "jurisdiction", "zones", "first_rpc")

    def __init__(self, pk, debtor_id, creditor_id, jurisdiction, zones, first_rpc):
        self.pk = pk
        self.debtor_id = debtor_id
        self.creditor_id = creditor_id
        self.jurisdiction = jurisdiction or "cn"
        # Unknown zone names are dropped (the policy's plausible zones then apply) rather than failing.
        self.zones = tuple(z for z in (z.strip() for z in (zones or "").split(",")) if z and _valid_zone(z))
        self.first_rpc = first_rpc


class ContextLoader:
    """Loads everything a set of requests needs, then hands out one Context per request."""

    def __init__(self, requests: list[ContactRequest]):
        from qingshou.portfolio.models import Case

        self.requests = list(requests)
        case_ids = {r.case_id for r in self.requests}
        rows = (
            Case.objects.filter(pk__in=case_ids)
            .annotate(first_rpc=Min("contacts__started_at", filter=Q(contacts__outcome__right_party=True)))
            .values_list("pk", "debtor_id", "creditor_id", "creditor__jurisdiction", "debtor__timezones",
                         "first_rpc")
        )
        self.cases = {row[0]: _CaseInfo(*row) for row in rows}
        debtor_ids = {c.debtor_id for c in self.cases.values()}
        creditor_ids = {c.creditor_id for c in self.cases.values()}
        ats = [r.at for r in self.requests] or []
        self._load_history(debtor_ids, creditor_ids, ats)
        self._load_holds(debtor_ids)
        self._load_dnc(debtor_ids)
        self._load_preferences(debtor_ids)
        self._load_phones(debtor_ids)
        self.layers = policies.PublishedLayers(creditor_ids)
        self.calendars = build_calendars(*window_for(r.at.date() for r in self.requests), creditor_ids) \
            if self.requests else {}
        self._located: dict[tuple[int, int], frozenset[int]] | None = None
        self._contexts: dict[tuple, Context] = {}

    # --- loading ----------------------------------------------------------------------------

    def _load_history(self, debtor_ids, creditor_ids, ats) -> None:
        from qingshou.contact.models import ContactAttempt

        self.history: dict[tuple[int, int], list[PastContact]] = defaultdict(list)
        if not debtor_ids or not ats:
            return
        rows = (
            ContactAttempt.objects.filter(
                party__debtor_id__in=debtor_ids, case__creditor_id__in=creditor_ids, direction="out",
                started_at__gte=min(ats) - HISTORY_BEFORE, started_at__lt=max(ats) + HISTORY_AFTER,
            )
            .order_by("started_at", "pk")
            .values_list("party_id", "channel", "started_at", "party__relation", "phone_id", "case_id",
                         "case__creditor_id", "party__debtor_id", "outcome__code", "outcome__connected",
                         "outcome__right_party", "outcome__stop_today", "outcome__refused",
                         "outcome__marks_phone_invalid")
        )
        for (party_id, channel, started_at, relation, phone_id, case_id, creditor_id, debtor_id, code,
             connected, right_party, stop_today, refused, marks_invalid) in rows:
            is_debtor = relation == "self"
            self.history[(debtor_id, creditor_id)].append(PastContact(
                party_id=party_id, channel=channel, started_at=started_at, party_is_debtor=is_debtor,
                phone_id=phone_id, connected=connected, right_party=right_party, stop_today=stop_today,
                refused=bool(refused and not is_debtor), creditor_id=creditor_id, agency="", case_id=case_id,
                reached_line=bool(connected or not (marks_invalid or code in UNREACHED_CODES)),
            ))

    def _load_holds(self, debtor_ids) -> None:
        from qingshou.portfolio.models import CaseHold

        self.holds: dict[int, set[str]] = defaultdict(set)
        self.deceased: set[int] = set()
        rows = CaseHold.objects.filter(case__debtor_id__in=debtor_ids).filter(
            Q(released_at__isnull=True) | Q(reason="deceased")
        ).values_list("case_id", "case__debtor_id", "reason", "released_at")
        for case_id, debtor_id, reason, released_at in rows:
            if released_at is None:
                self.holds[case_id].add(reason)
            if reason == "deceased":
                self.deceased.add(debtor_id)

    def _load_dnc(self, debtor_ids) -> None:
        from qingshou.compliance.models import DoNotContact

        self.dnc: dict[int, list[tuple[int | None, int | None, str]]] = defaultdict(list)
        for debtor_id, case_id, phone_id, channel in DoNotContact.objects.filter(
            debtor_id__in=debtor_ids, lifted_at__isnull=True
        ).values_list("debtor_id", "case_id", "phone_id", "channel"):
            self.dnc[debtor_id].append((case_id, phone_id, channel))

    def _load_preferences(self, debtor_ids) -> None:
        from qingshou.compliance.models import ContactPreference

        self.prefs: dict[int, dict[str, list[TimeWindow]]] = defaultdict(lambda: {"inconvenient": [], "agreed": []})
        for debtor_id, kind, weekdays, on_date, start, end in ContactPreference.objects.filter(
            debtor_id__in=debtor_ids, removed_at__isnull=True
        ).order_by("pk").values_list("debtor_id", "kind", "weekdays", "on_date", "start", "end"):
            window = TimeWindow(start=start, end=end, weekdays=tuple(int(d) for d in (weekdays or ())),
                                on_date=on_date)
            self.prefs[debtor_id][kind].append(window)

    def _load_phones(self, debtor_ids) -> None:
        from qingshou.portfolio.models import Phone

        self.invalid: dict[int, list[int]] = defaultdict(list)
        self.debtor_phones: dict[int, list[int]] = defaultdict(list)
        for pk, status, debtor_id, relation in Phone.objects.filter(party__debtor_id__in=debtor_ids).order_by(
            "pk"
        ).values_list("pk", "status", "party__debtor_id", "party__relation"):
            if status == Phone.Status.INVALID:
                self.invalid[debtor_id].append(pk)
            if relation == "self":
                self.debtor_phones[debtor_id].append(pk)

    def _located_parties(self) -> dict[tuple[int, int], frozenset[int]]:
        """Third parties already reached (US: asked for location information once), per debtor/creditor."""
        if self._located is None:
            from qingshou.contact.models import ContactAttempt

            found: dict[tuple[int, int], set[int]] = defaultdict(set)
            debtor_ids = {c.debtor_id for c in self.cases.values()}
            for debtor_id, creditor_id, party_id in ContactAttempt.objects.filter(
                party__debtor_id__in=debtor_ids, outcome__third_party=True, outcome__connected=True,
            ).values_list("party__debtor_id", "case__creditor_id", "party_id").distinct():
                found[(debtor_id, creditor_id)].add(party_id)
            self._located = {k: frozenset(v) for k, v in found.items()}
        return self._located

    # --- building ---------------------------------------------------------------------------

    def facts_for(self, request: ContactRequest, info: _CaseInfo) -> CaseFacts:
        holds = self.holds.get(info.pk, set())
        dnc_phones: list[int] = []
        dnc_channels: set[str] = set()
        for case_id, phone_id, channel in self.dnc.get(info.debtor_id, ()):
            if case_id is not None and case_id != info.pk:
                continue
            if phone_id is not None:
                # A number with a channel (an SMS opt-out reply): that number on that channel only.
                if not channel or channel == request.channel:
                    dnc_phones.append(phone_id)
            elif channel:
                dnc_channels.add(channel)
            else:
                dnc_channels.update(ALL_CHANNELS)
        prefs = self.prefs.get(info.debtor_id) or {"inconvenient": [], "agreed": []}
        zones = CN_ZONES if info.jurisdiction == "cn" else info.zones
        first_rpc = info.first_rpc
        return CaseFacts(
            holds=tuple(sorted(holds)),
            do_not_call_phone_ids=tuple(sorted(set(dnc_phones))),
            do_not_contact_channels=tuple(sorted(dnc_channels)),
            inconvenient=tuple(prefs["inconvenient"]),
            agreed=tuple(prefs["agreed"]),
            invalid_phone_ids=tuple(self.invalid.get(info.debtor_id, ())),
            debtor_phone_ids=tuple(self.debtor_phones.get(info.debtor_id, ())),
            debtor_deceased_or_incapacitated=info.debtor_id in self.deceased,
            timezones=zones,
            cease_communication="cease" in holds,
            written_dispute_open="dispute" in holds,
            attorney_represented="attorney" in holds,
            institution_stated=first_rpc is not None and first_rpc < request.at,
        )

    @staticmethod
    def case_params(facts: CaseFacts) -> dict:
        """The case layer: rules the debtor's own requests switch on whatever the other layers say."""
        params = {}
        if facts.inconvenient:
            params["inconvenient_blocked"] = True
        if facts.do_not_call_phone_ids or facts.do_not_contact_channels:
            params["do_not_call"] = True
        if facts.cease_communication:
            params["cease_communication"] = True
        return params

    def context_for(self, request: ContactRequest) -> Context:
        # A context depends on the request only through its case, time, channel and template: share it.
        key = (request.case_id, request.at, request.channel, request.template_id)
        hit = self._contexts.get(key)
        if hit is None:
            hit = self._contexts[key] = self._build(request)
        return hit

    def _build(self, request: ContactRequest) -> Context:
        info = self.cases.get(request.case_id)
        if info is None:
            raise LookupError(f"no case {request.case_id}")
        facts = self.facts_for(request, info)
        policy = self.layers.policy(info.jurisdiction, info.creditor_id, self.case_params(facts))
        from qingshou.compliance.engine import compile_policy

        if compile_policy(policy).tp_once:
            located = self._located_parties().get((info.debtor_id, info.creditor_id), frozenset())
            facts = replace(facts, third_parties_located=tuple(sorted(located)))
        calendar = self.calendars.get(info.creditor_id) or self.calendars.get(None)
        return Context(
            policy=policy,
            history=tuple(self.history.get((info.debtor_id, info.creditor_id), ())),
            facts=facts,
            calendar=calendar,
            template=load_template(request.template_id),
        )

    def contexts(self) -> list[Context]:
        return [self.context_for(r) for r in self.requests]


def build_context(request: ContactRequest, *, case=None) -> Context:
    """The Context for one request (queries: see the module docstring). `case` is accepted for callers
    that hold it; the loader reads what it needs itself (the case's jurisdiction may have changed)."""
    return ContextLoader([request]).context_for(request)
