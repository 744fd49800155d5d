"""Property-based tests of the compliance engine (hypothesis).

(a) Feeding every allowed request of a random stream into the history never produces a history that
    breaks a rule: checked by an independent checker written from the rule text, not from the engine.
(b) Adding a layer never allows more.
(c) next_allowed_at, when given, is itself allowed.
"""

import os
from collections import Counter, defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qingshou.compliance.engine import decide
from qingshou.compliance.presets import PARAMETERS, PRESETS
from qingshou.compliance.types import (
    CaseFacts,
    ContactRequest,
    Context,
    PastContact,
    Policy,
    PolicyLayer,
    Template,
    TimeWindow,
)

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
START = {"cn": datetime(2026, 11, 16, 0, 0, tzinfo=SH), "us": datetime(2026, 11, 16, 0, 0, tzinfo=NY)}
POLICIES = {
    "cn": Policy(layers=(PRESETS["cn"], PRESETS["house"])),
    "us": Policy(layers=(PRESETS["us"], PRESETS["house"])),
}
SAFE = Template(id=7, kind="sms", approved=True, active=True, third_party_safe=True)
PARTY_PHONES = {1: (1, 2), 2: (20,), 3: (30,)}
# Deterministic in `make test`; ENGINE_EXAMPLES=2000 ENGINE_RANDOM=1 pytest … explores further.
FAST = settings(max_examples=int(os.environ.get("ENGINE_EXAMPLES", "100")), deadline=None,
                derandomize=not os.environ.get("ENGINE_RANDOM"), database=None,
                suppress_health_check=[HealthCheck.too_slow])


def _facts(jur: str) -> CaseFacts:
    if jur == "us":
        return CaseFacts(timezones=("America/New_York",), debtor_phone_ids=(1, 2), institution_stated=True)
    # Debtor numbers invalid so that third-party calls are possible at all in the stream.
    return CaseFacts(debtor_phone_ids=(1, 2), invalid_phone_ids=(1, 2), institution_stated=True,
                     agreed=(TimeWindow(time(22, 0), time(22, 30)),))


step = st.tuples(
    st.integers(min_value=1, max_value=400),                 # minutes after the previous request
    st.sampled_from([1, 1, 1, 2, 3]),                         # party
    st.sampled_from(["call", "call", "call", "robot", "sms"]),
    st.integers(min_value=0, max_value=1),                    # which phone of the party
    st.booleans(),                                            # connected
    st.booleans(),                                            # right party (debtor only)
    st.integers(min_value=0, max_value=9),                    # 0 = stop today, 1 = refused, 2 = line not reached
)


def _request(jur, at, party, channel, phone_index):
    phones = PARTY_PHONES[party]
    debtor = party == 1
    return ContactRequest(
        case_id=1, party_id=party, channel=channel, at=at, party_is_debtor=debtor,
        party_relation="self" if debtor else "spouse", phone_id=phones[phone_index % len(phones)],
        purpose="collect" if debtor else ("locate" if jur == "us" else "callback"),
        template_id=7 if channel == "sms" else None,
    )


def _run_stream(jur, steps):
    policy = POLICIES[jur]
    facts = _facts(jur)
    at = START[jur]
    history: list[PastContact] = []
    for minutes, party, channel, phone_index, connected, right, flag in steps:
        at = at + timedelta(minutes=minutes)
        req = _request(jur, at, party, channel, phone_index)
        d = decide(req, Context(policy=policy, history=tuple(history), facts=facts, template=SAFE))
        if not d.allowed:
            continue
        is_call = channel in ("call", "robot")
        history.append(PastContact(
            party_id=party, channel=channel, started_at=at, party_is_debtor=party == 1, phone_id=req.phone_id,
            connected=is_call and connected, right_party=is_call and connected and right and party == 1,
            stop_today=flag == 0 and is_call and connected, refused=flag == 1 and party != 1 and is_call and connected,
            case_id=1, reached_line=not (flag == 2 and is_call and not connected),
        ))
    return history, facts


def _check_history(jur, history, facts):
    """An independent reading of the rules, over a finished history. Returns the breaches found."""
    problems = []
    zone = NY if jur == "us" else SH
    start, end = (time(8), time(21)) if jur == "us" else (time(8), time(22))
    calls = [h for h in history if h.channel in ("call", "robot")]

    for h in history:                                            # hours (letters are not in the stream)
        t = h.started_at.astimezone(zone).time()
        agreed = any(w.start <= t < w.end for w in facts.agreed)
        if not (start <= t < end or agreed):
            problems.append(f"hours {h.started_at}")

    per_party_day = Counter((h.party_id, h.started_at.astimezone(zone).date()) for h in calls)
    problems += [f"house 5 calls {k}" for k, n in per_party_day.items() if n > 5]

    for i, h in enumerate(history):                              # stop today: nothing later that day
        if not h.stop_today:
            continue
        day = h.started_at.astimezone(zone).date()
        for later in history[i + 1:]:
            if later.started_at.astimezone(zone).date() != day:
                continue
            if later.party_id == h.party_id or h.party_is_debtor:
                problems.append(f"contact after stop today {later.started_at}")
    for i, h in enumerate(history):                              # refused third party: nothing later
        if h.refused:
            problems += [f"contact after refusal {x.started_at}" for x in history[i + 1:] if x.party_id == h.party_id]

    if jur == "cn":
        unanswered = Counter((h.phone_id, h.started_at.astimezone(zone).date()) for h in calls if not h.connected)
        # The engine refuses the 7th attempt; an answered 7th would make 6 unanswered + 1: never more than 6.
        problems += [f"cn 6 unanswered {k}" for k, n in unanswered.items() if n > 6]
        conv = Counter(h.started_at.astimezone(zone).date() for h in calls if h.party_is_debtor and h.right_party)
        problems += [f"cn 3 conversations {k}" for k, n in conv.items() if n > 3]
    else:
        by_party = defaultdict(list)
        for h in calls:
            by_party[h.party_id].append(h)
        for party, items in by_party.items():
            days = [h.started_at.astimezone(zone).date() for h in items if h.reached_line]
            for d0 in set(days):                                  # every 7-consecutive-day window
                n = sum(1 for d in days if d0 <= d < d0 + timedelta(days=7))
                if n > 7:
                    problems.append(f"us 7 in 7 party {party} from {d0}")
            for j, h in enumerate(items):                          # 7 days after a conversation
                if not h.connected or (h.party_is_debtor and not h.right_party):
                    continue
                d = h.started_at.astimezone(zone).date()
                for later in items[j + 1:]:
                    if (later.started_at.astimezone(zone).date() - d).days < 7:
                        problems.append(f"us call within 7 days of a conversation {later.started_at}")
    return problems


@FAST
@given(jur=st.sampled_from(["cn", "us"]), steps=st.lists(step, min_size=5, max_size=80))
def test_allowed_streams_never_break_a_rule(jur, steps):
    history, facts = _run_stream(jur, steps)
    assert _check_history(jur, history, facts) == []


def _value(name, kind):
    if name == "timezones":
        return st.lists(st.sampled_from(["Asia/Shanghai", "America/New_York", "America/Chicago"]), max_size=2)
    if kind == "int":
        return st.integers(min_value=0, max_value=8)
    if kind == "bool":
        return st.booleans()
    if kind == "window":
        return st.tuples(st.integers(min_value=0, max_value=12), st.integers(min_value=13, max_value=23)).map(
            lambda t: [f"{t[0]:02d}:00", f"{t[1]:02d}:30"])
    return st.lists(st.sampled_from(["call", "sms", "robot", "collect", "locate", "callback", "complaint",
                                     "threat", "Asia/Shanghai", "deceased"]), max_size=3)


random_layer = st.builds(
    lambda kind, params: PolicyLayer(kind=kind, name=f"{kind}:x", version="1", params=params),
    st.sampled_from(["creditor", "house", "case"]),
    st.dictionaries(st.sampled_from(sorted(PARAMETERS)), st.none(), max_size=6).flatmap(
        lambda d: st.fixed_dictionaries({k: _value(k, PARAMETERS[k][0]) for k in d})),
)


@FAST
@given(jur=st.sampled_from(["cn", "us"]), steps=st.lists(step, min_size=3, max_size=30), layer=random_layer,
       probe=step)
def test_a_stricter_layer_never_allows_more(jur, steps, layer, probe):
    history, facts = _run_stream(jur, steps)
    at = (history[-1].started_at if history else START[jur]) + timedelta(minutes=probe[0])
    req = _request(jur, at, probe[1], probe[2], probe[3])
    base = POLICIES[jur]
    stricter = Policy(layers=(*base.layers, layer))
    ctx = Context(policy=base, history=tuple(history), facts=facts, template=SAFE)
    if decide(req, Context(policy=stricter, history=ctx.history, facts=facts, template=SAFE)).allowed:
        assert decide(req, ctx).allowed


@FAST
@given(jur=st.sampled_from(["cn", "us"]), steps=st.lists(step, min_size=3, max_size=60), probe=step)
def test_next_allowed_at_is_allowed(jur, steps, probe):
    history, facts = _run_stream(jur, steps)
    at = (history[-1].started_at if history else START[jur]) + timedelta(minutes=probe[0])
    req = _request(jur, at, probe[1], probe[2], probe[3])
    ctx = Context(policy=POLICIES[jur], history=tuple(history), facts=facts, template=SAFE)
    d = decide(req, ctx)
    if d.next_allowed_at is not None:
        assert not d.allowed
        assert d.next_allowed_at > at
        from dataclasses import replace

        assert decide(replace(req, at=d.next_allowed_at), ctx).allowed
