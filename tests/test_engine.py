"""Unit tests of the compliance engine: merging layers, rule ids, reasons, next time, scanner, calendar."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from qingshou.compliance.calendars import china_calendar
from qingshou.compliance.engine import all_rule_ids, compile_policy, decide, merge_layers
from qingshou.compliance.presets import PARAMETERS, PRESETS
from qingshou.compliance.scanner import scan
from qingshou.compliance.types import (
    CaseFacts,
    ContactRequest,
    Context,
    PastContact,
    Policy,
    PolicyLayer,
)

SH = ZoneInfo("Asia/Shanghai")
CN_HOUSE = Policy(layers=(PRESETS["cn"], PRESETS["house"]))


def at(h, m=0, day=18):
    return datetime(2026, 11, day, h, m, tzinfo=SH)


def call(when, **kw):
    base = dict(case_id=1, party_id=1, channel="call", at=when, party_is_debtor=True, phone_id=1,
                institution_stated=True)
    base.update(kw)
    return ContactRequest(**base)


def past(when, **kw):
    base = dict(party_id=1, channel="call", started_at=when, party_is_debtor=True, phone_id=1, case_id=1)
    base.update(kw)
    return PastContact(**base)


# --- presets and merging -----------------------------------------------------------------------

def test_every_preset_parameter_is_documented_and_typed():
    import qingshou.compliance.presets as presets

    for layer in PRESETS.values():
        for name in layer.params:
            assert name in PARAMETERS
            assert name in presets.__doc__


def test_merge_strictest_wins_and_names_the_layer():
    a = PolicyLayer("preset", "cn", "1", {"hours": ["08:00", "22:00"], "max_calls_per_party_day": 5,
                                          "third_party_purposes": ["callback", "locate"], "holds_block": ["fraud"],
                                          "agreed_overrides_hours": True, "unreachable_failed_contacts": 3})
    b = PolicyLayer("creditor", "creditor:a", "2", {"hours": ["09:00", "23:00"], "max_calls_per_party_day": 3,
                                                    "third_party_purposes": ["locate"], "holds_block": ["complaint"],
                                                    "agreed_overrides_hours": False, "unreachable_failed_contacts": 5,
                                                    "stop_today": True})
    m = merge_layers([a, b])
    assert m.params["hours"] == (time(9), time(22))
    assert m.decided_by["hours.start"] is b and m.decided_by["hours.end"] is a
    assert m.params["max_calls_per_party_day"] == 3 and m.decided_by["max_calls_per_party_day"] is b
    assert m.params["third_party_purposes"] == {"locate"}
    assert m.params["holds_block"] == {"fraud", "complaint"}
    assert m.layer_name("holds_block:fraud") == "cn" and m.layer_name("holds_block:complaint") == "creditor:a"
    assert m.params["agreed_overrides_hours"] is False
    assert m.params["unreachable_failed_contacts"] == 5
    assert m.params["stop_today"] is True


def test_ties_keep_the_earliest_layer():
    m = merge_layers([PRESETS["cn"], PRESETS["house"]])
    assert m.decided_by["hours.start"].name == "cn"


def test_case_layer_cannot_relax():
    strict = PolicyLayer("creditor", "creditor:a", "1", {"agreed_overrides_hours": False})
    relax = PolicyLayer("case", "case:1", "1", {"agreed_overrides_hours": True, "max_calls_per_party_day": 9})
    m = merge_layers([PRESETS["house"], strict, relax])
    assert m.params["agreed_overrides_hours"] is False
    assert m.params["max_calls_per_party_day"] == 5
    # and on its own it cannot switch the override on either
    assert "agreed_overrides_hours" not in merge_layers([relax]).params


def test_unknown_parameter_is_an_error():
    with pytest.raises(ValueError, match="unknown policy parameter"):
        merge_layers([PolicyLayer("creditor", "x", "1", {"max_calls": 3})])


def test_compiled_policy_is_cached_by_identity_and_content():
    p1 = Policy(layers=(PRESETS["cn"],))
    p2 = Policy(layers=(PolicyLayer("preset", "cn", "2026.1", dict(PRESETS["cn"].params)),))
    assert compile_policy(p1) is compile_policy(p1)
    assert compile_policy(p1) is compile_policy(p2)


def test_rule_ids():
    ids = set(all_rule_ids(CN_HOUSE))
    assert {"cn.hours", "cn.unanswered_per_number", "cn.debtor_conversations", "cn.third_party.unreachable",
            "cn.third_party.purpose", "cn.third_party.refused", "cn.institution", "cn.visit_staff",
            "house.daily_calls", "house.stop_today", "house.holiday", "house.do_not_call", "hold.deceased",
            "template.not_approved", "content.threat"} <= ids
    us = set(all_rule_ids(Policy(layers=(PRESETS["us"],))))
    assert {"us.hours", "us.7in7.attempts", "us.7in7.after_conversation", "us.third_party.once", "us.cease",
            "us.dispute", "us.attorney", "us.inconvenient"} <= us


# --- decisions ---------------------------------------------------------------------------------

def test_allowed_decision_names_the_policy_version():
    d = decide(call(at(10)), Context(policy=CN_HOUSE))
    assert d.allowed and d.reasons == () and d.next_allowed_at is None
    assert d.policy_version == "cn@2026.1+house@2026.1"


def test_every_denying_rule_is_reported_with_messages():
    history = tuple(past(at(8, 10 + i)) for i in range(6))
    d = decide(call(at(22, 30)), Context(policy=CN_HOUSE, history=history))
    assert [r.rule for r in d.reasons] == ["cn.hours", "cn.unanswered_per_number", "house.daily_calls"]
    for r in d.reasons:
        assert r.message_zh and r.message_en and r.layer in ("cn", "house")
    assert d.next_allowed_at == at(8, day=19)
    assert d.reasons_json()[0]["rule"] == "cn.hours"


def test_stop_today_third_call():
    history = (past(at(9)), past(at(9, 30), connected=True, right_party=True, stop_today=True))
    d = decide(call(at(11)), Context(policy=CN_HOUSE, history=history))
    assert not d.allowed and [r.rule for r in d.reasons] == ["house.stop_today"]
    assert "今日" in d.reasons[0].message_zh
    assert d.next_allowed_at == at(8, day=19)


def test_hold_has_no_next_time():
    d = decide(call(at(10)), Context(policy=CN_HOUSE, facts=CaseFacts(holds=("deceased",))))
    assert [r.rule for r in d.reasons] == ["hold.deceased"] and d.next_allowed_at is None


def test_next_time_is_never_beyond_thirty_days():
    # a blackout of 40 days in a row: nothing in the horizon
    days = frozenset(date.fromordinal(date(2026, 11, 18).toordinal() + i) for i in range(40))
    from qingshou.compliance.types import Calendar

    d = decide(call(at(10)), Context(policy=CN_HOUSE, calendar=Calendar(blackout=days)))
    assert not d.allowed and d.next_allowed_at is None


def test_empty_hours_intersection_never_allows():
    night = PolicyLayer("creditor", "creditor:x", "1", {"hours": ["23:00", "23:30"]})
    d = decide(call(at(23, 10)), Context(policy=Policy(layers=(PRESETS["cn"], night))))
    assert not d.allowed and d.next_allowed_at is None


def test_content_on_request_text_blocks():
    d = decide(call(at(10), channel="robot", template_id=1, text="不还钱就立即拘留"), Context(policy=CN_HOUSE))
    assert [r.rule for r in d.reasons] == ["content.fake_legal"]
    assert "立即拘留" in d.reasons[0].message_zh


# --- scanner -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,category", [
    ("我是法院的，你马上处理", "impersonation"),
    ("这里是派出所", "impersonation"),
    ("上征信黑名单", "fake_legal"),
    ("明天就立即拘留", "fake_legal"),
    ("以贷养贷也要还", "push_to_borrow"),
    ("去借钱还", "push_to_borrow"),
    ("你这个老赖", "insult"),
    ("让你全家不得好死", "threat"),
    ("THIS IS THE POLICE", "impersonation"),
    ("You'll be arrested tonight", "fake_legal"),
    ("Take out a payday loan", "push_to_borrow"),
])
def test_scanner_categories(text, category):
    assert category in {h.category for h in scan(text)}


def test_scanner_offsets_word_boundaries_and_audience():
    text = "No issue: ＴＨＩＳ ＩＳ ＴＨＥ ＰＯＬＩＣＥ"
    hits = scan(text)
    assert len(hits) == 1 and text[hits[0].start:hits[0].end] == "ＴＨＩＳ ＩＳ ＴＨＥ ＰＯＬＩＣＥ"
    assert scan("please reissue the card") == []                       # "sue" inside a word
    assert scan("他的欠款已逾期") == []                                    # fine for the debtor
    assert {h.category for h in scan("他的欠款已逾期", audience="third_party")} == {"third_party_disclosure"}
    assert [h.phrase for h in scan("抓你坐牢")] == ["抓你坐牢"]              # nested hits collapse
    assert scan("") == []


# --- calendar ----------------------------------------------------------------------------------

def test_china_calendar_from_the_holidays_package():
    cal = china_calendar([2026])
    assert date(2026, 10, 1) in cal.holidays and date(2026, 10, 7) in cal.holidays
    assert date(2026, 9, 20) in cal.workdays                            # a Sunday worked (调休)
    assert 2026 in cal.known_years


def test_weekends_blocked_respects_adjusted_workdays():
    layer = PolicyLayer("creditor", "creditor:x", "1", {"weekends_blocked": True})
    policy = Policy(layers=(PRESETS["cn"], layer))
    cal = china_calendar([2026])
    sunday_worked = datetime(2026, 9, 20, 10, tzinfo=SH)
    assert decide(call(sunday_worked), Context(policy=policy, calendar=cal)).allowed
    plain_sunday = datetime(2026, 11, 22, 10, tzinfo=SH)
    d = decide(call(plain_sunday), Context(policy=policy, calendar=cal))
    assert [r.rule for r in d.reasons] == ["creditor.weekend"] and d.next_allowed_at == at(8, day=23)
