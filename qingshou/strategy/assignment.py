"""Automatic assignment (分案) of unassigned open cases to collectors.

`plan_assignment` is pure: cases and collector slots in, {case_id: user_id} out. Modes:

* round_robin — take turns among the eligible collectors (fewest cases given in this run first);
* capacity    — the eligible collector with the lowest open workload relative to capacity;
* region      — collectors whose profile regions include the debtor's region, else capacity;
* skill       — collectors whose profile skills include the case's product, else capacity;
* sticky      — the case's previous collector when eligible, else capacity.

In every mode: a case already in a team's pool stays in that team; otherwise only teams that serve
the case's creditor (TeamCreditor; a creditor with no such row may go to any team in scope); no
collector goes above capacity (cases that fit nowhere stay unassigned and are counted); balances at
or above the large-balance threshold go to senior collectors when an eligible senior has room.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field
from operator import attrgetter

_BY_GIVEN = attrgetter("given", "user_id")
_BY_RATIO = attrgetter("ratio", "user_id")
MODES = ("round_robin", "capacity", "region", "skill", "sticky")


@dataclass
class Slot:
    user_id: int
    team_id: int
    capacity: int
    load: int = 0
    senior: bool = False
    regions: frozenset = frozenset()
    skills: frozenset = frozenset()
    given: int = 0
    ratio: float = 0.0   # load / capacity, kept up to date by the planner

    def __post_init__(self):
        self.ratio = self.load / max(self.capacity, 1)


@dataclass(frozen=True)
class CaseToAssign:
    case_id: int
    creditor_id: int
    balance: float
    team_id: int | None = None
    region: str = ""
    product: str = ""
    previous: int | None = None


@dataclass
class Plan:
    assign: dict[int, int] = field(default_factory=dict)   # case_id -> user_id
    unassigned: list[int] = field(default_factory=list)    # no eligible collector with room


def plan_assignment(cases: list[CaseToAssign], slots: list[Slot], *, mode: str, large_balance: float,
                    team_creditors: dict[int, set[int]] | None = None) -> Plan:
    """team_creditors: creditor_id -> team ids that serve it (creditors absent: any team)."""
    if mode not in MODES:
        raise ValueError(f"unknown assignment mode {mode!r}")
    team_creditors = team_creditors or {}
    by_team: dict[int, list[Slot]] = defaultdict(list)
    for s in sorted(slots, key=lambda s: s.user_id):
        by_team[s.team_id].append(s)
    by_user = {s.user_id: s for s in slots}
    all_teams = list(by_team)
    plan = Plan()
    if mode in _HEAP_MODES:
        return _plan_by_heaps(cases, by_team, all_teams, mode=mode, large_balance=large_balance,
                              team_creditors=team_creditors, plan=plan)
    # Large balances first, so seniors' room goes to them.
    for c in sorted(cases, key=lambda c: (-c.balance, c.case_id)):
        teams = [c.team_id] if c.team_id else team_creditors.get(c.creditor_id, all_teams)
        eligible = [s for t in teams for s in by_team.get(t, ()) if s.load < s.capacity]
        if not eligible:
            plan.unassigned.append(c.case_id)
            continue
        if c.balance >= large_balance:
            seniors = [s for s in eligible if s.senior]
            eligible = seniors or eligible
        chosen = None
        if mode == "sticky" and c.previous in by_user and by_user[c.previous] in eligible:
            chosen = by_user[c.previous]
        elif mode == "region" and c.region:
            eligible = [s for s in eligible if c.region in s.regions] or eligible
        elif mode == "skill" and c.product:
            eligible = [s for s in eligible if c.product in s.skills] or eligible
        if chosen is None:
            chosen = min(eligible, key=_BY_GIVEN if mode == "round_robin" else _BY_RATIO)
        chosen.load += 1
        chosen.given += 1
        chosen.ratio = chosen.load / max(chosen.capacity, 1)
        plan.assign[c.case_id] = chosen.user_id
    return plan


_HEAP_MODES = ("capacity", "round_robin")


def _plan_by_heaps(cases, by_team, all_teams, *, mode, large_balance, team_creditors, plan: Plan) -> Plan:
    """The same choices as the loop above for the modes without per-case filters, in O(log n) per case.

    Each distinct group of eligible collectors (the teams a case may go to, seniors only or all) gets a heap of
    (key, user_id, stamp, slot), key = ratio (capacity) or given (round_robin), as in `min(..., key=...)`. A slot
    chosen gets a new stamp and a new entry in every heap it belongs to; stale entries and full slots are
    dropped when they reach the top (a slot never gets room again within a plan).
    """
    heaps: dict[tuple, list] = {}
    member_of: dict[int, list[list]] = defaultdict(list)
    stamp: dict[int, int] = defaultdict(int)
    by_ratio = mode == "capacity"

    def heap_for(teams, seniors_only):
        key = (tuple(teams), seniors_only)
        heap = heaps.get(key)
        if heap is None:
            members = [s for t in teams for s in by_team.get(t, ()) if s.load < s.capacity
                       and (s.senior or not seniors_only)]
            heap = [((s.ratio if by_ratio else s.given), s.user_id, stamp[s.user_id], s) for s in members]
            heapq.heapify(heap)
            heaps[key] = heap
            for s in members:
                member_of[s.user_id].append(heap)
        return heap

    def top(heap):
        while heap:
            _, uid, st, s = heap[0]
            if st == stamp[uid] and s.load < s.capacity:
                return s
            heapq.heappop(heap)
        return None

    for c in sorted(cases, key=lambda c: (-c.balance, c.case_id)):
        teams = [c.team_id] if c.team_id else team_creditors.get(c.creditor_id, all_teams)
        chosen = top(heap_for(teams, True)) if c.balance >= large_balance else None
        if chosen is None:
            chosen = top(heap_for(teams, False))
        if chosen is None:
            plan.unassigned.append(c.case_id)
            continue
        chosen.load += 1
        chosen.given += 1
        chosen.ratio = chosen.load / max(chosen.capacity, 1)
        uid = chosen.user_id
        stamp[uid] += 1
        if chosen.load < chosen.capacity:
            entry = ((chosen.ratio if by_ratio else chosen.given), uid, stamp[uid], chosen)
            for heap in member_of[uid]:
                heapq.heappush(heap, entry)
        plan.assign[c.case_id] = uid
    return plan
