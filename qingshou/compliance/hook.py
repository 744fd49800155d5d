"""The compliance hook: asked before any contact is made or logged.

    decision = check_contact(request)        # engine.decide(request, adapter.build_context(request))
    stored = record_decision(request, decision, acting_user=user)

`ContactRequest`, `Decision`, `Reason`, `PastContact` and `Policy` are the engine's types
(compliance.types), re-exported here so existing imports keep working.

`decide(request, history, policy=DEFAULT_POLICY)` is kept for code that works without a database
(the demo-data generator): it runs the engine with the house rules only and the given history, no
case facts and no calendar. Everything that contacts a real case goes through `check_contact`.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from qingshou.compliance.engine import decide as engine_decide
from qingshou.compliance.presets import PRESETS
from qingshou.compliance.types import (
    CaseFacts,
    ContactRequest,
    Context,
    Decision,
    PastContact,
    Policy,
    Reason,
)

__all__ = ["DEFAULT_POLICY", "CaseFacts", "ContactRequest", "Decision", "PastContact", "Policy", "Reason",
           "check_contact", "check_contacts", "decide", "record_decision", "record_decisions"]


class HousePolicy(Policy):
    """The house layer alone (no database), with the zone the demo generator works in."""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo("Asia/Shanghai")


DEFAULT_POLICY = HousePolicy(layers=(PRESETS["house"],))


def decide(request: ContactRequest, history, policy: Policy = DEFAULT_POLICY) -> Decision:
    """The engine over a bare history (no case facts, no calendar): for database-free callers."""
    return engine_decide(request, Context(policy=policy, history=tuple(history), facts=CaseFacts(
        timezones=("Asia/Shanghai",))))


def check_contact(request: ContactRequest) -> Decision:
    """The engine's decision for one request, with the context loaded from the database."""
    from qingshou.compliance.adapter import build_context

    return engine_decide(request, build_context(request))


def check_contacts(requests: list[ContactRequest]) -> list[Decision]:
    """Decisions for many requests with one batch of queries (dialer feed and batch check)."""
    from qingshou.compliance.adapter import ContextLoader

    loader = ContextLoader(requests)
    return [engine_decide(r, loader.context_for(r)) for r in requests]


def _row(request: ContactRequest, decision: Decision, acting_user):
    from qingshou.compliance.models import ComplianceDecision

    return ComplianceDecision(
        requested_by=acting_user,
        case_id=request.case_id,
        party_id=request.party_id,
        phone_id=request.phone_id,
        channel=request.channel,
        contact_at=request.at,
        allowed=decision.allowed,
        reasons=decision.reasons_json(),
        next_allowed_at=decision.next_allowed_at,
        policy_version=decision.policy_version[:200],
    )


def record_decision(request: ContactRequest, decision: Decision, *, acting_user):
    """Store the decision as evidence. Call inside the action's transaction."""
    row = _row(request, decision, acting_user)
    row.save()
    return row


INSERT_BATCH = 500


def record_decisions(pairs, *, acting_user) -> list[int]:
    """Store many decisions with multi-row INSERTs (500 rows each); returns their ids in order.

    A plain multi-row INSERT … RETURNING id rather than `bulk_create`: the ORM spends ~0.25 ms per
    row preparing values, which alone would exceed the dialer's 100 ms budget for 1,000 numbers.
    Values are adapted exactly as the fields would (connection.ops adapters, JSON as JSONField
    stores it). Call inside a transaction.
    """

    from django.db import connection
    from django.utils import timezone

    from qingshou.compliance.models import ComplianceDecision

    pairs = list(pairs)
    if not pairs:
        return []
    meta = ComplianceDecision._meta
    fields = ["decided_at", "requested_by", "case_id", "party_id", "phone_id", "channel", "contact_at",
              "allowed", "reasons", "next_allowed_at", "policy_version"]
    qn = connection.ops.quote_name
    columns = [qn(meta.get_field(f).column) for f in fields]
    dt = connection.ops.adapt_datetimefield_value
    adapt_json = connection.ops.adapt_json_value
    now = dt(timezone.now())
    user_id = getattr(acting_user, "pk", None)
    # Only model metadata (quoted names) and %s placeholders go into the SQL text; values are parameters.
    head = f"INSERT INTO {qn(meta.db_table)} ({', '.join(columns)}) VALUES "  # noqa: S608
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), INSERT_BATCH):
            chunk = pairs[start:start + INSERT_BATCH]
            params: list = []
            for request, decision in chunk:
                params += [
                    now, user_id, request.case_id, request.party_id, request.phone_id, request.channel,
                    dt(request.at), decision.allowed, adapt_json(decision.reasons_json(), None),
                    dt(decision.next_allowed_at) if decision.next_allowed_at is not None else None,
                    decision.policy_version[:200],
                ]
            cursor.execute(head + ", ".join([row_sql] * len(chunk)) + f" RETURNING {qn(meta.pk.column)}", params)
            ids += [row[0] for row in cursor.fetchall()]
    return ids
