"""hook.decide: the engine with the house layer over a bare history (the database-free path the demo uses)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from qingshou.compliance.hook import ContactRequest, PastContact, Policy, decide
from qingshou.compliance.types import PolicyLayer

SH = ZoneInfo("Asia/Shanghai")


def at(h, m=0, day=10):
    return datetime(2026, 11, day, h, m, tzinfo=SH)


def req(when, channel="call", party=1, debtor=True):
    return ContactRequest(case_id=1, party_id=party, channel=channel, at=when, party_is_debtor=debtor)


def calls(n, party=1, when=None, channel="call", debtor=True):
    when = when or at(9)
    return [PastContact(party_id=party, channel=channel, started_at=when + timedelta(minutes=i),
                        party_is_debtor=debtor)
            for i in range(n)]


@pytest.mark.parametrize(
    ("h", "m", "allowed"),
    [(7, 59, False), (8, 0, True), (12, 0, True), (21, 59, True), (22, 0, False), (23, 30, False), (0, 5, False)],
)
def test_contact_hours_boundaries(h, m, allowed):
    d = decide(req(at(h, m)), [])
    assert d.allowed is allowed
    if not allowed:
        assert [r.rule for r in d.reasons] == ["house.hours"]


def test_next_allowed_time_before_and_after_hours():
    assert decide(req(at(6, 30)), []).next_allowed_at == at(8, 0)
    assert decide(req(at(22, 30)), []).next_allowed_at == at(8, 0, day=11)


def test_hours_measured_in_shanghai_time_whatever_the_input_zone():
    utc = datetime(2026, 11, 10, 15, 0, tzinfo=ZoneInfo("UTC"))  # 23:00 in Shanghai
    d = decide(req(utc), [])
    assert not d.allowed and d.next_allowed_at == at(8, 0, day=11)


def test_letters_are_not_bound_by_hours():
    # (without an approved template a letter is refused anyway: templates arrive with their own issue)
    d = decide(req(at(23), channel="letter"), [])
    assert "house.hours" not in [r.rule for r in d.reasons]
    assert [r.rule for r in d.reasons] == ["template.missing"]


def test_fifth_call_allowed_sixth_refused():
    assert decide(req(at(15)), calls(4)).allowed
    d = decide(req(at(15)), calls(5))
    assert not d.allowed
    assert [r.rule for r in d.reasons] == ["house.daily_calls"]
    assert "5" in d.reasons[0].message_zh
    assert d.next_allowed_at == at(8, 0, day=11)


def test_cap_is_per_party_and_per_day():
    other_party = calls(5, party=2, debtor=False)
    assert decide(req(at(15)), other_party).allowed
    yesterday = calls(5, when=at(9, day=9))
    assert decide(req(at(15)), yesterday).allowed


def test_robot_calls_count_toward_the_cap_but_sms_do_not():
    assert not decide(req(at(15)), calls(3) + calls(2, channel="robot")).allowed
    assert decide(req(at(15)), calls(3) + calls(2, channel="sms")).allowed
    assert "house.daily_calls" not in [r.rule for r in decide(req(at(15), channel="sms"), calls(5)).reasons]


def test_stop_today_by_debtor_blocks_every_party_that_day():
    stop = [PastContact(party_id=1, channel="call", started_at=at(10), party_is_debtor=True, stop_today=True)]
    d = decide(req(at(11), party=2, debtor=False), stop)
    assert not d.allowed and d.reasons[0].rule == "house.stop_today"
    assert d.next_allowed_at == at(8, 0, day=11)
    assert decide(req(at(11), party=2, debtor=False), stop).reasons[0].message_en.startswith("The debtor")
    # the next day it is allowed again
    assert decide(req(at(9, day=11)), stop).allowed


def test_stop_today_by_third_party_blocks_only_that_party():
    stop = [PastContact(party_id=2, channel="call", started_at=at(10), party_is_debtor=False, stop_today=True)]
    assert not decide(req(at(11), party=2, debtor=False), stop).allowed
    assert decide(req(at(11), party=1), stop).allowed


def test_every_denying_rule_is_reported_and_next_time_satisfies_all():
    d = decide(req(at(22, 30)), calls(5, when=at(9)))
    # 22:30: hours fail; the cap counts today's calls (all 5 today) so it fails too.
    assert {r.rule for r in d.reasons} == {"house.hours", "house.daily_calls"}
    assert d.next_allowed_at == at(8, 0, day=11)
    assert decide(req(d.next_allowed_at), calls(5, when=at(9))).allowed


def test_policy_parameters_are_data():
    strict = Policy(layers=(PolicyLayer(kind="house", name="house", version="t",
                                        params={"hours": ["08:00", "22:00"], "max_calls_per_party_day": 2}),))
    assert not decide(req(at(15)), calls(2), strict).allowed
    assert decide(req(at(15)), calls(2)).allowed
    assert decide(req(at(15)), [], strict).policy_version == "house@t"
