"""Demo data: a synthetic but plausible collection office, for `qingshou demo` and first start.

Only synthetic data, ever: names, addresses and employers come from Faker (zh_CN); ID numbers are
built from a handful of region codes, a random birth date and sequence, with a correct GB 11643
check digit; mobile numbers are random digits behind ordinary mainland prefixes. None of it is
taken from any real record.

What it builds: two creditors with placements, a branch with three teams, fifteen collectors and
at least one user of every role (see USERS), and N cases whose debtors have 1–4 third parties,
phones (some invalid) and addresses. About 60% of assigned cases have a contact history (催记) with
the compliance decisions that allowed each call, promises to pay (pending, kept, broken), payments,
a few holds (deceased, suspected fraud), a few settled and a few escalated to legal, each with the
timeline events the real actions would have written.

Seeding is the one place in qingshou that writes rows directly instead of through actions: going
through `do_log_contact` and friends would take minutes for 5,000 cases, and actions stamp "now",
whereas a history needs times in the past. To keep the result indistinguishable from what the
actions produce:

- every call in the history is put to the real compliance rules (`compliance.hook.decide`) against
  the calls generated before it, so the history itself obeys the house rules (contact hours,
  at most 5 calls per party per day, "stop today");
- timeline events carry the same data keys as the constructors in `portfolio.events`;
- case fields derived by actions (first/last contact, next follow-up, promise check time) use the
  same helpers the actions use.

Differences from action-written data, on purpose: no audit row per seeded change (one
``demo.generate`` row records the run), and a payment reduces the balance components as well as
the total (other fees, late fees, interest, then principal) so that
principal + interest + late fees + other fees = total due holds for every demo case.

Everything is reproducible: each case draws from its own random stream derived from the seed and
its index, so the same seed gives the same debtors; with the same ``now`` it gives the same history
as well (`DemoResult.fingerprint`).
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
import random
import time as monotime
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from faker import Faker

from qingshou.compliance.hook import DEFAULT_POLICY, ContactRequest, PastContact, decide
from qingshou.core import idnumbers
from qingshou.core.masking import mask_phone

DEFAULT_CASES = 5000
DEFAULT_SEED = 2026
CHUNK = 1000  # cases built and written per round: bounds memory, keeps bulk inserts large
CENT = Decimal("0.01")

CREDITORS = {
    # key: (code, name, products with weights)
    "A": ("demo-bank", "示例银行信用卡中心", [("信用卡", 70), ("信用卡分期", 20), ("信用卡现金分期", 10)]),
    "B": ("demo-cf", "示例消费金融有限公司", [("消费贷", 50), ("现金贷", 35), ("分期购物贷", 15)]),
}
# (creditor key, batch code, starts N days ago, runs for N days)
PLACEMENTS = [
    ("A", "YH-2026-01", 75, 90),
    ("A", "YH-2026-02", 45, 90),
    ("A", "YH-2026-03", 15, 90),
    ("B", "XF-2026-01", 60, 120),
    ("B", "XF-2026-02", 20, 120),
]
BRANCH = ("demo-sh", "上海分部")
TEAMS = [("demo-t1", "催收一组"), ("demo-t2", "催收二组"), ("demo-t3", "催收三组")]
SENIOR_COLLECTORS = {1, 6, 11}


def _user_specs():
    """(username, role, team number or None, creditor key or None, staff) for every demo login."""
    from qingshou.org.models import Role

    specs = [("admin", Role.ADMIN, None, None, True), ("supervisor", Role.SUPERVISOR, None, None, False)]
    specs += [(f"leader{n}", Role.TEAM_LEADER, n, None, False) for n in (1, 2, 3)]
    specs += [(f"collector{n}", Role.COLLECTOR, (n - 1) // 5 + 1, None, False) for n in range(1, 16)]
    specs += [
        ("qa1", Role.QA, None, None, False),
        ("desk1", Role.COMPLAINTS, None, None, False),
        ("lawyer1", Role.LAWYER, None, None, False),
    ]
    specs += [
        ("creditor_a", Role.CREDITOR, None, "A", False),
        ("creditor_b", Role.CREDITOR, None, "B", False),
    ]
    return specs


def demo_usernames() -> list[str]:
    return [s[0] for s in _user_specs()]


# Real county-level region codes (GB/T 2260) and their names; birth places of the synthetic debtors.
REGIONS = [
    ("110101", "北京市东城区"),
    ("110105", "北京市朝阳区"),
    ("120101", "天津市和平区"),
    ("130102", "河北省石家庄市长安区"),
    ("140105", "山西省太原市小店区"),
    ("210102", "辽宁省沈阳市和平区"),
    ("220102", "吉林省长春市南关区"),
    ("230103", "黑龙江省哈尔滨市南岗区"),
    ("310101", "上海市黄浦区"),
    ("310115", "上海市浦东新区"),
    ("320102", "江苏省南京市玄武区"),
    ("320505", "江苏省苏州市虎丘区"),
    ("330106", "浙江省杭州市西湖区"),
    ("330203", "浙江省宁波市海曙区"),
    ("340102", "安徽省合肥市瑶海区"),
    ("350203", "福建省厦门市思明区"),
    ("360102", "江西省南昌市东湖区"),
    ("370102", "山东省济南市历下区"),
    ("370202", "山东省青岛市市南区"),
    ("410105", "河南省郑州市金水区"),
    ("420106", "湖北省武汉市武昌区"),
    ("430104", "湖南省长沙市岳麓区"),
    ("440106", "广东省广州市天河区"),
    ("440304", "广东省深圳市福田区"),
    ("450103", "广西壮族自治区南宁市青秀区"),
    ("500103", "重庆市渝中区"),
    ("510104", "四川省成都市锦江区"),
    ("520102", "贵州省贵阳市南明区"),
    ("530102", "云南省昆明市五华区"),
    ("610113", "陕西省西安市雁塔区"),
]
MOBILE_PREFIXES = (
    "130 131 132 133 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 176 177 178 180 181 182 183 "
    "185 186 187 188 189 191 198 199"
).split()
# Third-party relations: (value, weight, minimum debtor age)
THIRD_PARTIES = [
    ("spouse", 18, 24),
    ("parent", 18, 0),
    ("child", 6, 42),
    ("sibling", 14, 0),
    ("colleague", 12, 0),
    ("friend", 12, 0),
    ("emergency", 10, 0),
    ("employer", 8, 0),
]
ONCE_ONLY = {"spouse", "employer"}
FAMILY_SURNAME = {"parent", "sibling"}

# Outcome mixes (code, weight) by who was called.
DEBTOR_OUTCOMES = [
    ("no_answer", 30),
    ("powered_off", 8),
    ("rejected", 12),
    ("rpc", 14),
    ("ptp", 10),
    ("refuse_to_pay", 6),
    ("cannot_pay", 4),
    ("dispute", 2),
    ("complaint_risk", 2),
    ("stop_today", 3),
]
THIRD_PARTY_OUTCOMES = [
    ("no_answer", 32),
    ("powered_off", 8),
    ("rejected", 10),
    ("tpc", 40),
    ("complaint_risk", 2),
    ("stop_today", 3),
]
ROBOT_OUTCOMES = [("no_answer", 55), ("rejected", 20), ("powered_off", 10), ("rpc", 15)]
# Contact hours by weight, 08:00–21:xx (the last hour only to 21:30).
HOUR_WEIGHTS = [
    (8, 4),
    (9, 8),
    (10, 9),
    (11, 8),
    (12, 4),
    (13, 5),
    (14, 8),
    (15, 8),
    (16, 8),
    (17, 7),
    (18, 6),
    (19, 7),
    (20, 6),
    (21, 3),
]

NOTES = {
    "rpc": [
        "本人接听，告知逾期金额及后果，本人表示知晓，称近期资金紧张。",
        "本人接听，称本月工资未发，下周再联系。",
        "本人接听，核实身份无误，提醒尽快处理欠款。",
        "本人接听，称正在筹款，要求过几天再来电。",
    ],
    "ptp": [
        "本人承诺于{due}前还款{amount}元。",
        "本人接听，协商后承诺{due}前还款{amount}元。",
        "本人称工资到账后还款，承诺{due}前还{amount}元。",
    ],
    "refuse_to_pay": ["本人接听，明确表示暂无还款意愿。", "本人称不认可欠款，拒绝协商。"],
    "cannot_pay": ["本人接听，有还款意愿，称失业暂无收入，待找到工作后再联系。",
                   "本人称愿意还款，但近期医疗支出大，暂时无力还款。"],
    "dispute": ["本人对滞纳金金额有异议，要求核实账单。", "本人称部分款项已还，要求甲方核账。"],
    "complaint_risk": [
        "对方情绪激动，称将向监管部门投诉，已安抚并结束通话。",
        "对方对来电频率不满，提出投诉。",
    ],
    "stop_today": ["对方要求今日不要再来电，已同意。", "对方称正在开会，要求今天不要再打。"],
    "tpc": [
        "{relation}接听，同意转告本人尽快回电。",
        "{relation}接听，称与本人不常联系，已请其转告回电。",
        "{relation}接听，核实本人现住址。",
    ],
    "no_answer": ["无人接听。", "响铃无人接听。", ""],
    "powered_off": ["关机。", "提示已关机。"],
    "rejected": ["响铃后被挂断。", "拒接。"],
    "invalid_number": ["空号。", "提示停机。"],
    "deceased": ["家属告知本人已去世，需核实死亡证明。"],
    "fraud": ["接听人称从未申请该业务，怀疑身份被冒用。"],
}
CHECKLIST_NOTES = {
    "work_income": ["在物流公司上班，月收入约五千元", "做个体生意，收入不稳定", "目前待业"],
    "location": ["现居本市", "在外地打工", "住在父母家"],
    "marital_status": ["已婚", "未婚", "离异"],
    "children": ["有一个孩子", "无子女"],
    "parents_means": ["父母务农，收入一般", "父母已退休，有退休金"],
    "other_debts": ["另有两笔网贷", "无其他欠款"],
    "family_knows": ["家人不知情", "配偶知情"],
}
WITHDRAW_REASONS = ["催收员休假，收回待重新分案", "调整分案"]
LEGAL_REASON = "多次承诺未兑现且有还款能力，转法务处理"


@dataclass
class DemoResult:
    counts: dict = field(default_factory=dict)
    seconds: float = 0.0
    fingerprint: str = ""
    people_fingerprint: str = ""
    first_debtor: tuple[str, str] = ("", "")
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # username, role label, scope
    kept_existing: list[str] = field(default_factory=list)
    password: str = ""


class DemoRefused(Exception):
    """The database is not empty; demo data are only loaded into an empty one."""


def ensure_empty() -> None:
    from qingshou.org.models import Creditor
    from qingshou.portfolio.models import Case

    if Case.objects.exists():
        raise DemoRefused("cases")
    if Creditor.objects.filter(code__in=[c[0] for c in CREDITORS.values()]).exists():
        raise DemoRefused("creditors")


@contextmanager
def _given_timestamps(fields):
    """Let bulk_create store the past times we set instead of auto_now_add's "now".

    The seeder runs alone (a command, or `qingshou up` before it starts any server), so switching
    the flag for the duration is safe; it is restored even on error.
    """
    saved = [(f, f.auto_now_add) for f in fields]
    try:
        for f, _ in saved:
            f.auto_now_add = False
        yield
    finally:
        for f, flag in saved:
            f.auto_now_add = flag


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def _money(x: float) -> Decimal:
    return Decimal(str(x)).quantize(CENT)


def _hundreds(x: Decimal) -> Decimal:
    return (x / 100).quantize(Decimal(1), rounding=ROUND_DOWN) * 100


class _CaseState:
    """Working state of one case while its history is generated."""

    def __init__(self, case, parties, phones, collector, assigned_at, invalid_fate):
        self.case = case
        self.parties = parties  # [debtor's own party, third parties...]
        self.phones = phones  # list of lists, aligned with parties
        self.collector = collector
        self.assigned_at = assigned_at
        self.invalid_fate = invalid_fate  # id() of phones that turn out to be invalid when called
        self.n_payments = 0
        self.past: list[PastContact] = []
        self.pending = None  # the pending Promise, if any
        self.promise_window = None  # (start, end) during which payments count toward it
        self.last_contact = None
        self.last_outcome = None
        self.last_promise = None
        self.broken_last = False
        self.stopped = False  # hold, settlement or legal: no more collection calls


class Generator:
    def __init__(
        self, *, cases: int, seed: int, now: datetime, write: bool, password: str | None = None, progress=None
    ):
        self.n_cases = cases
        self.seed = seed
        self.now = now
        self.write = write
        self.password = password if password is not None else settings.DEMO_PASSWORD
        self.progress = progress
        self.tz = DEFAULT_POLICY.tz
        self.today = now.astimezone(self.tz).date()
        self.faker = Faker("zh_CN")
        self.counts: Counter = Counter()
        self.hash_all = hashlib.sha256()
        self.hash_people = hashlib.sha256()
        self.first_debtor = ("", "")
        self.used_ids: set[str] = set()
        self.used_phones: set[str] = set()
        self.account_seq = itertools.count(1)
        from qingshou.portfolio.models import Relation

        self.relation_labels = {value: str(label) for value, label in Relation.choices}
        self._reset_chunk()

    # --- set-up ------------------------------------------------------------------------------

    def _reset_chunk(self):
        self.debtors, self.parties, self.phones, self.addresses, self.cases = [], [], [], [], []
        self.assignments, self.status_changes, self.holds = [], [], []
        self.decisions, self.contacts, self.promises, self.payments = [], [], [], []
        self.events = []  # (case, type, at, user, data callable)

    def _local(self, day: date, hour: int, minute: int, second: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute, second), tzinfo=self.tz)

    def build_org(self):
        from qingshou.contact.models import OutcomeCode
        from qingshou.contact.outcomes import STANDARD_OUTCOMES
        from qingshou.org.models import Branch, Creditor, Role, Team, User
        from qingshou.portfolio.models import Placement

        rng = random.Random(f"{self.seed}/org")
        self.faker.seed_instance(rng.randrange(2**32))
        self.creditors = {k: Creditor(code=c, name=n) for k, (c, n, _) in CREDITORS.items()}
        self.branch = Branch(code=BRANCH[0], name=BRANCH[1])
        self.teams = [Team(branch=self.branch, code=c, name=n) for c, n in TEAMS]
        self.placements = []
        for key, code, ago, days in PLACEMENTS:
            starts = self.today - timedelta(days=ago)
            p = Placement(
                creditor=self.creditors[key],
                code=code,
                starts_on=starts,
                ends_on=starts + timedelta(days=days),
                created_at=self._local(starts, 8, 30),
            )
            p._key = key
            self.placements.append(p)

        existing = {}
        if self.write:
            existing = {
                u.username: u for u in User.objects.filter(username__in=[s[0] for s in _user_specs()])
            }
        hashed = make_password(self.password)  # one hash for all: one known demo password anyway
        names: set[str] = set()
        self.users, self.new_users, self.kept_existing = {}, [], []
        self.user_team = {}
        for username, role, team_no, cred_key, staff in _user_specs():
            name = self.faker.name()
            while name in names:
                name = self.faker.name()
            names.add(name)
            team = self.teams[team_no - 1] if team_no else None
            if username in existing:
                user = existing[username]
                self.kept_existing.append(username)
            else:
                user = User(
                    username=username,
                    role=role,
                    password=hashed,
                    display_name=name,
                    is_staff=staff,
                    is_superuser=staff and role == Role.ADMIN,
                    team=team,
                    branch=self.branch if role not in (Role.ADMIN, Role.CREDITOR) else None,
                    creditor=self.creditors[cred_key] if cred_key else None,
                    is_senior=role == Role.COLLECTOR and int(username[9:] or 0) in SENIOR_COLLECTORS,
                )
                self.new_users.append(user)
            self.users[username] = user
            self.user_team[username] = team
        self.collectors = [f"collector{n}" for n in range(1, 16)]

        if self.write:
            self.outcomes = OutcomeCode.objects.in_bulk([o[0] for o in STANDARD_OUTCOMES], field_name="code")
            missing = {o[0] for o in STANDARD_OUTCOMES} - set(self.outcomes)
            if missing:
                raise RuntimeError(f"outcome codes missing (run `qingshou migrate`): {sorted(missing)}")
        else:
            self.outcomes = {
                code: OutcomeCode(code=code, label_zh=zh, label_en=en, **flags)
                for code, zh, en, flags in STANDARD_OUTCOMES
            }

        if self.write:
            for c in self.creditors.values():
                c.save()
            self.branch.save()
            Team.objects.bulk_create(self.teams)
            Placement.objects.bulk_create(self.placements)
            User.objects.bulk_create(self.new_users)
        self.counts["users"] = len(self.new_users)

    # --- people --------------------------------------------------------------------------------

    def _mobile(self, rng) -> str:
        while True:
            number = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def _id_number(self, rng, region: str, born: date, male: bool) -> str:
        while True:
            seq = rng.randrange(500) * 2 + (1 if male else 0)
            number = idnumbers.make(region, born, seq)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def _address(self, rng, region_name: str) -> str:
        f = self.faker
        return (
            f"{region_name}{f.street_name()}{rng.randint(1, 999)}号"
            f"{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{rng.randint(1, 28)}0{rng.randint(1, 4)}室"
        )

    def _people(self, rng):
        from qingshou.portfolio.models import Address, Debtor, Party, Phone

        f = self.faker
        region, region_name = rng.choice(REGIONS)
        born = date(1965, 1, 1) + timedelta(days=rng.randrange((date(2002, 12, 31) - date(1965, 1, 1)).days))
        male = rng.random() < 0.58
        age = self.today.year - born.year
        id_number = self._id_number(rng, region, born, male)
        surname = f.last_name()
        given = f.first_name_male() if male else f.first_name_female()
        employer = f.company() if rng.random() < 0.7 else ""
        debtor = Debtor(
            name=surname + given,
            id_number=id_number,
            gender="M" if male else "F",
            birth_date=born,
            employer=employer,
            region=region_name,
        )
        self.debtors.append(debtor)

        parties = [Party(debtor=debtor, name=debtor.name, relation="self")]
        n_third = _weighted(rng, [(1, 35), (2, 30), (3, 20), (4, 15)])
        taken: set[str] = set()
        while len(parties) - 1 < n_third:
            pool = [
                (r, w)
                for r, w, min_age in THIRD_PARTIES
                if age >= min_age and not (r in ONCE_ONLY and r in taken) and (r != "employer" or employer)
            ]
            rel = _weighted(rng, pool)
            taken.add(rel)
            if rel == "employer":
                name = employer
            elif rel in FAMILY_SURNAME or (rel == "child" and male):
                name = surname + (f.first_name_male() if rng.random() < 0.5 else f.first_name_female())
            elif rel == "spouse":
                name = f.last_name() + (f.first_name_female() if male else f.first_name_male())
            else:
                name = f.name()
            parties.append(Party(debtor=debtor, name=name, relation=rel))
        self.parties.extend(parties)

        phones = []
        for i, party in enumerate(parties):
            n = 2 if rng.random() < (0.4 if i == 0 else 0.2) else 1
            phones.append(
                [
                    Phone(party=party, number=self._mobile(rng), status="unknown", source="placement")
                    for _ in range(n)
                ]
            )
            self.phones.extend(phones[-1])
        self.addresses.append(Address(party=parties[0], kind="home", text=self._address(rng, region_name)))
        if rng.random() < 0.5:
            self.addresses.append(
                Address(party=parties[0], kind="hukou", text=self._address(rng, region_name))
            )
        if employer:
            self.addresses.append(
                Address(
                    party=parties[0], kind="work", text=f"{self._address(rng, region_name)[:-12]}{employer}"
                )
            )
        for party in parties[1:]:
            if party.relation == "employer":
                self.addresses.append(Address(party=party, kind="work", text=self._address(rng, region_name)))
            elif rng.random() < (0.6 if party.relation == "parent" else 0.3):
                self.addresses.append(Address(party=party, kind="home", text=self._address(rng, region_name)))

        self.hash_people.update(f"{debtor.name}|{debtor.id_number}|".encode())
        for party, numbers in zip(parties, phones, strict=True):
            self.hash_people.update(
                f"{party.name}/{party.relation}/{','.join(p.number for p in numbers)};".encode()
            )
        if not self.first_debtor[0]:
            self.first_debtor = (debtor.name, debtor.id_number)
        return parties, phones

    # --- money -------------------------------------------------------------------------------

    @staticmethod
    def _dpd(rng) -> int:
        r = rng.random()
        if r < 0.68:
            return rng.randint(1, 90)
        if r < 0.88:
            return rng.randint(91, 180)
        return min(720, 181 + int(rng.expovariate(1 / 160)))

    @staticmethod
    def _balance(rng, product: str, dpd: int) -> dict:
        mu = {
            "信用卡": 18000,
            "信用卡分期": 30000,
            "信用卡现金分期": 40000,
            "消费贷": 25000,
            "现金贷": 6000,
            "分期购物贷": 9000,
        }.get(product, 15000)
        total = math.exp(rng.gauss(math.log(mu * (1 + dpd / 720 * 0.4)), 0.8))
        total = _money(min(200_000.0, max(2_000.0, total)))
        p = rng.uniform(0.70, 0.88)
        rest = 1 - p
        fee_heavy = product in ("现金贷", "分期购物贷")
        i = rest * rng.uniform(0.45, 0.6 if fee_heavy else 0.7)
        late = rest * rng.uniform(0.1, 0.3)
        principal = (total * Decimal(str(p))).quantize(CENT)
        interest = (total * Decimal(str(i))).quantize(CENT)
        late_fees = (total * Decimal(str(late))).quantize(CENT)
        other = total - principal - interest - late_fees
        if other < 0:  # rounding; cannot really happen with these ranges
            late_fees += other
            other = Decimal("0.00")
        return {
            "principal": principal,
            "interest": interest,
            "late_fees": late_fees,
            "other_fees": other,
            "total_due": total,
        }

    @staticmethod
    def _pay_down(case, amount: Decimal) -> None:
        """Reduce the balance, fees first, so that the parts still add up to the total."""
        left = amount
        for name in ("other_fees", "late_fees", "interest", "principal"):
            part = getattr(case, name)
            take = min(part, left)
            setattr(case, name, part - take)
            left -= take
        case.total_due = case.principal + case.interest + case.late_fees + case.other_fees

    # --- cases -------------------------------------------------------------------------------

    def _case(self, idx: int):
        from qingshou.portfolio.models import Case, bucket_for_dpd

        people_rng = random.Random(self.seed * 1_000_003 + idx)
        self.faker.seed_instance(people_rng.randrange(2**32))
        parties, phones = self._people(people_rng)
        debtor = parties[0].debtor

        rng = random.Random(self.seed * 2_000_003 + idx)
        key = "A" if rng.random() < 0.55 else "B"
        placement = rng.choice([p for p in self.placements if p._key == key])
        product = _weighted(rng, CREDITORS[key][2])
        dpd = self._dpd(rng)
        money = self._balance(rng, product, dpd)
        placed_at = self._local(placement.starts_on, 9, rng.randrange(60), rng.randrange(60))
        prefix = "YH" if key == "A" else "XF"
        case = Case(
            placement=placement,
            debtor=debtor,
            creditor=placement.creditor,
            account_number=f"{prefix}{rng.randrange(10**4):04d}{next(self.account_seq):08d}",
            product=product,
            dpd=dpd,
            bucket=bucket_for_dpd(dpd),
            status="active",
            created_at=placed_at,
            **money,
        )
        self.cases.append(case)
        original_total = case.total_due
        self._event(
            case,
            "placed",
            placed_at,
            None,
            lambda c=case, t=original_total: {"placement": c.placement.code, "total_due": str(t)},
        )

        supervisor = self.users["supervisor"]
        username = rng.choice(self.collectors)
        team = self.user_team[username]
        collector = self.users[username]
        max_days = min(40.0, (self.now - placed_at).total_seconds() / 86400 - 0.1)
        assigned_at = max(
            self.now - timedelta(days=rng.uniform(1.0, max_days)), placed_at + timedelta(hours=1)
        )
        self._assign(case, collector, team, assigned_at, supervisor)

        all_phones = list(itertools.chain(*phones))
        invalid_fate = {id(ph) for ph in all_phones if rng.random() < 0.08}
        trail = [case.account_number, str(dpd), str(original_total)]
        if rng.random() < 0.03:
            leader = self.users[f"leader{self.teams.index(team) + 1}"]
            at = min(self.now - timedelta(hours=2), assigned_at + timedelta(days=rng.uniform(0.2, 1.0)))
            self._withdraw(case, collector, team, at, leader, rng.choice(WITHDRAW_REASONS))
            trail.append("pool:" + team.code)
        else:
            trail.append(username)
            overdue_window = (self.now - assigned_at) > timedelta(days=2)
            state = _CaseState(case, parties, phones, collector, assigned_at, invalid_fate)
            if rng.random() < (0.68 if overdue_window else 0.3):
                self._history(rng, state, trail)
            elif rng.random() < 0.05:
                self._payment(rng, state, self._between(rng, assigned_at, self.now), "spontaneous")
        # Invalid numbers never called in the history: marked so in the placement file already.
        for ph in all_phones:
            if id(ph) in invalid_fate and ph.status == "unknown":
                ph.status = "invalid"
                ph.status_changed_at = placed_at
            trail.append(f"{ph.number}:{ph.status}")
        trail += [case.status, str(case.total_due)]
        self.hash_all.update(("|".join(trail) + "\n").encode())

    def _between(self, rng, start: datetime, end: datetime) -> datetime:
        return start + timedelta(seconds=rng.uniform(0, max(0.0, (end - start).total_seconds())))

    def _assign(self, case, collector, team, at, by):
        from qingshou.portfolio.models import Assignment

        case.assigned_to, case.team, case.assigned_at = collector, team, at
        self.assignments.append(
            Assignment(
                case=case,
                kind="assign",
                from_user=None,
                to_user=collector,
                team=team,
                at=at,
                by=by,
                reason="",
            )
        )
        self._event(case, "assigned", at, by, lambda u=collector: {"to": u.label, "reason": ""})

    def _withdraw(self, case, collector, team, at, by, reason):
        from qingshou.portfolio.models import Assignment

        case.assigned_to, case.assigned_at = None, None
        self.assignments.append(
            Assignment(
                case=case,
                kind="withdraw",
                from_user=collector,
                to_user=None,
                team=team,
                at=at,
                by=by,
                reason=reason,
            )
        )
        self._event(case, "withdrawn", at, by, lambda u=collector, r=reason: {"from": u.label, "reason": r})

    def _event(self, case, type_, at, user, data):
        self.events.append((case, type_, at, user, data))

    # --- history -----------------------------------------------------------------------------

    def _contact_time(self, rng, start: datetime, end: datetime) -> datetime | None:
        first, last = start.astimezone(self.tz).date(), end.astimezone(self.tz).date()
        span = (last - first).days
        for _ in range(12):
            day = first + timedelta(days=rng.randint(0, span))
            hour = _weighted(rng, HOUR_WEIGHTS)
            minute = rng.randrange(30 if hour == 21 else 60)
            at = self._local(day, hour, minute, rng.randrange(60))
            if start <= at <= end:
                return at
        return None

    def _history(self, rng, st: _CaseState, trail: list):
        """Contacts, promises, payments and status changes of one case, in time order."""
        start = st.assigned_at + timedelta(minutes=5)
        end = self.now - timedelta(minutes=10)
        n = _weighted(rng, [(1, 20), (2, 18), (3, 15), (4, 13), (5, 11), (6, 9), (7, 7), (8, 7)])
        times = []
        first = (
            self._contact_time(rng, start, min(end, start + timedelta(days=2)))
            if rng.random() < 0.85
            else None
        )
        first = first or self._contact_time(rng, start, end)
        if first is None:
            return
        times.append(first)
        for _ in range(n - 1):
            t = self._contact_time(rng, first, end)
            if t is not None:
                times.append(t)
        seq = itertools.count()
        queue = [(t, next(seq), "contact", None) for t in times]
        fate = rng.random()
        if fate < 0.016:
            queue.append((self._between(rng, first, end), next(seq), "settle", None))
        elif fate < 0.08 and st.case.dpd > 120:
            queue.append((self._between(rng, first + timedelta(days=1), end), next(seq), "legal", None))
        elif fate < 0.13:
            queue.append((self._between(rng, first, end), next(seq), "payment", None))
        special = None
        r = rng.random()
        if r < 0.012:
            special = "deceased"
        elif r < 0.02:
            special = "fraud"
        special_at = rng.randrange(len(times))
        heapq.heapify(queue)
        k = 0
        while queue:
            at, _, kind, payload = heapq.heappop(queue)
            if at >= self.now:
                continue
            if kind == "contact":
                outcome_code = special if (special and k == special_at) else None
                k += 1
                if not st.stopped:
                    self._contact(rng, st, at, outcome_code, queue, seq, trail)
            elif kind == "resolve":
                self._resolve(st, payload, at)
            elif kind == "payment" and st.case.status == "active":
                self._payment(rng, st, at, "spontaneous")
            elif (
                kind == "promise_payment" and st.case.status == "active" and payload["promise"] is st.pending
            ):
                self._pay(st, at, payload["amount"](), "promise")
            elif kind == "settle" and st.case.status == "active":
                self._pay(st, at, st.case.total_due, "settle")
            elif kind == "legal" and st.case.status == "active":
                self._status(st, "legal", at, self.users["supervisor"], LEGAL_REASON)
                st.stopped = True
        case = st.case
        if st.last_contact is not None:
            from qingshou.contact.actions import _next_work_at

            case.next_work_at = (
                None if st.broken_last else _next_work_at(st.last_outcome, st.last_promise, st.last_contact)
            )

    @staticmethod
    def _choose(rng, st: _CaseState):
        """(party index, phone) to call; (None, None) when no callable number is left."""
        debtor_phones = [p for p in st.phones[0] if p.status != "invalid"]
        if debtor_phones and (rng.random() < 0.6 or len(st.parties) == 1):
            return 0, rng.choice(debtor_phones)
        options = [(i, p) for i in range(1, len(st.parties)) for p in st.phones[i] if p.status != "invalid"]
        if not options:
            return (0, rng.choice(debtor_phones)) if debtor_phones else (None, None)
        return rng.choice(options)

    def _contact(self, rng, st: _CaseState, at: datetime, forced: str | None, queue, seq, trail):
        from qingshou.compliance.models import ComplianceDecision
        from qingshou.contact.models import ContactAttempt
        from qingshou.payments.actions import promise_check_at
        from qingshou.payments.models import Promise
        from qingshou.portfolio.models import CaseHold

        index, phone = self._choose(rng, st)
        if index is None:
            return
        party = st.parties[index]
        is_debtor = index == 0
        channel = "robot" if is_debtor and not forced and rng.random() < 0.08 else "call"
        request = ContactRequest(case_id=0, party_id=index, channel=channel, at=at, party_is_debtor=is_debtor)
        if not decide(request, st.past).allowed:
            return  # the collector would have been refused: this call never happened

        if id(phone) in st.invalid_fate:
            code = "invalid_number"
        elif forced:
            code = forced
        elif channel == "robot":
            code = _weighted(rng, ROBOT_OUTCOMES)
        else:
            code = _weighted(rng, DEBTOR_OUTCOMES if is_debtor else THIRD_PARTY_OUTCOMES)
        if code == "ptp" and st.pending is not None:
            code = "rpc"  # one live promise at a time; a reminder call instead
        outcome = self.outcomes[code]
        connected = outcome.connected
        duration = (
            rng.randint(40, 600)
            if connected
            else (0 if code in ("no_answer", "powered_off", "invalid_number") else rng.randint(1, 8))
        )
        if channel == "robot":
            duration = min(duration, 90)
        case = st.case
        promise = None
        notes = rng.choice(NOTES.get(code, [""]))
        if code == "ptp":
            left = case.total_due
            amount = (
                left
                if rng.random() < 0.15
                else max(min(left, Decimal(200)), _hundreds(left * Decimal(str(rng.uniform(0.1, 0.5)))))
            )
            due = at.astimezone(self.tz).date() + timedelta(
                days=_weighted(rng, [(0, 1), (1, 3), (2, 3), (3, 4), (5, 4), (7, 4), (10, 2), (14, 2)])
            )
            notes = notes.format(due=f"{due.month}月{due.day}日", amount=f"{amount:,.2f}")
        elif code == "tpc":
            notes = notes.format(relation=self.relation_labels[party.relation])
        first_call = case.first_contact_at is None
        checklist = {}
        if first_call and st.collector is not None and code in ("rpc", "ptp", "refuse_to_pay", "cannot_pay", "dispute"):
            for key, texts in CHECKLIST_NOTES.items():
                if rng.random() < 0.6:
                    checklist[key] = {"asked": True, "note": rng.choice(texts)}

        decision = ComplianceDecision(
            requested_by=st.collector,
            channel=channel,
            contact_at=at,
            allowed=True,
            reasons=[],
            next_allowed_at=None,
            policy_version=DEFAULT_POLICY.version,
            decided_at=at,
        )
        decision._refs = (case, party, phone)
        self.decisions.append(decision)
        contact = ContactAttempt(
            case=case,
            party=party,
            phone=phone,
            collector=st.collector,
            channel=channel,
            direction="out",
            started_at=at,
            duration_seconds=duration,
            outcome=outcome,
            notes=notes,
            noted_at=at + timedelta(seconds=duration + rng.randint(20, 240)),
            recording_ref=f"rec/{at:%Y/%m/%d}/{rng.getrandbits(64):016x}.wav",
            checklist=checklist,
            seconds_since_assignment=int((at - st.assigned_at).total_seconds()),
            decision=decision,
        )
        self.contacts.append(contact)
        relation_label = self.relation_labels[party.relation]  # as Party.get_relation_display()
        self._event(
            case,
            "contact_logged",
            at,
            st.collector,
            lambda c=contact, lbl=relation_label: {
                "contact_id": c.pk,
                "channel": c.channel,
                "outcome": c.outcome.code,
                "party": lbl,
            },
        )
        st.past.append(
            PastContact(
                party_id=index,
                channel=channel,
                started_at=at,
                party_is_debtor=is_debtor,
                connected=connected,
                stop_today=outcome.stop_today,
            )
        )
        trail.append(f"{code}@{index}")

        if outcome.marks_phone_invalid or outcome.marks_phone_valid:
            new = "invalid" if outcome.marks_phone_invalid else "valid"
            if phone.status != new:
                old, phone.status, phone.status_changed_at = phone.status, new, at
                self._event(
                    case,
                    "phone_status",
                    at,
                    st.collector,
                    lambda p=phone, o=old, n=new: {
                        "phone_id": p.pk,
                        "phone": mask_phone(p.number),
                        "old": o,
                        "new": n,
                    },
                )
        if outcome.hold_reason:
            hold = CaseHold(
                case=case, reason=outcome.hold_reason, note=notes[:300], placed_by=st.collector, placed_at=at
            )
            self.holds.append(hold)
            self._event(
                case,
                "hold_placed",
                at,
                st.collector,
                lambda h=hold: {"hold_id": h.pk, "reason": h.reason, "note": h.note},
            )
            st.stopped = True
        if code == "ptp":
            promise = Promise(
                case=case,
                party=party,
                contact=contact,
                amount=amount,
                due_date=due,
                status="pending",
                created_at=at,
                created_by=st.collector,
                check_at=promise_check_at(due),
                paid_amount=Decimal("0.00"),
            )
            self.promises.append(promise)
            self._event(
                case,
                "promise_made",
                at,
                st.collector,
                lambda p=promise: {
                    "promise_id": p.pk,
                    "amount": str(p.amount),
                    "due_date": p.due_date.isoformat(),
                },
            )
            st.pending = promise
            day_start = datetime.combine(at.astimezone(self.tz).date(), time(0), tzinfo=self.tz)
            st.promise_window = (
                day_start,
                datetime.combine(
                    due + timedelta(days=settings.PROMISE_GRACE_DAYS + 1), time(0), tzinfo=self.tz
                ),
            )
            heapq.heappush(queue, (promise.check_at, next(seq), "resolve", promise))
            fate = rng.random()
            due_end = self._local(due, 20, 0)
            if fate < 0.45:
                pay_at = self._between(rng, at + timedelta(hours=1), max(at + timedelta(hours=1), due_end))
                heapq.heappush(
                    queue,
                    (
                        pay_at,
                        next(seq),
                        "promise_payment",
                        {"amount": lambda p=promise: p.amount - p.paid_amount, "promise": promise},
                    ),
                )
            elif fate < 0.6:
                pay_at = self._between(rng, at + timedelta(hours=1), max(at + timedelta(hours=1), due_end))
                part = _hundreds(amount * Decimal(str(rng.uniform(0.2, 0.6))))
                if part > 0:
                    heapq.heappush(
                        queue,
                        (
                            pay_at,
                            next(seq),
                            "promise_payment",
                            {"amount": lambda v=part: v, "promise": promise},
                        ),
                    )

        if first_call and channel in ("call", "robot"):
            case.first_contact_at = at
        case.last_contact_at = at
        st.last_contact, st.last_outcome, st.last_promise, st.broken_last = at, outcome, promise, False

    def _payment(self, rng, st: _CaseState, at: datetime, kind: str):
        amount = _hundreds(st.case.total_due * Decimal(str(rng.uniform(0.05, 0.3))))
        if amount > 0:
            self._pay(st, at, amount, kind)

    def _pay(self, st: _CaseState, at: datetime, amount: Decimal, kind: str):
        from qingshou.payments.models import Payment

        case = st.case
        amount = min(amount, case.total_due)
        if amount <= 0 or at >= self.now:
            return
        st.n_payments += 1
        n = st.n_payments
        payment = Payment(
            case=case,
            amount=amount,
            paid_at=at,
            created_at=at + timedelta(hours=6),
            source_ref=f"HK{at.astimezone(self.tz):%Y%m%d}{case.account_number[-6:]}{n:02d}",
        )
        self.payments.append(payment)
        self._pay_down(case, amount)
        self._event(
            case,
            "payment_received",
            at,
            None,
            lambda p=payment: {"payment_id": p.pk, "amount": str(p.amount), "ref": p.source_ref},
        )
        promise = st.pending
        if promise is not None and st.promise_window[0] <= at < st.promise_window[1]:
            promise.paid_amount += amount
            if promise.paid_amount >= promise.amount:
                promise.status, promise.resolved_at, promise.check_at = "kept", at, None
                self._event(
                    case,
                    "promise_kept",
                    at,
                    None,
                    lambda p=promise: {
                        "promise_id": p.pk,
                        "amount": str(p.amount),
                        "paid": str(p.paid_amount),
                    },
                )
                st.pending = None
        if case.total_due == 0 and case.status == "active":
            self._status(st, "settled", at, None, "paid in full")
            st.stopped = True

    def _resolve(self, st: _CaseState, promise, at: datetime):
        if promise is not st.pending or promise.status != "pending":
            return
        promise.status, promise.resolved_at, promise.check_at = "broken", at, None
        self._event(
            st.case,
            "promise_broken",
            at,
            None,
            lambda p=promise: {
                "promise_id": p.pk,
                "amount": str(p.amount),
                "paid": str(p.paid_amount),
                "due_date": p.due_date.isoformat(),
            },
        )
        st.pending = None
        st.broken_last = True

    def _status(self, st: _CaseState, new: str, at: datetime, by, reason: str):
        from qingshou.portfolio.models import CaseStatusChange

        old = st.case.status
        st.case.status = new
        self.status_changes.append(
            CaseStatusChange(case=st.case, from_status=old, to_status=new, at=at, by=by, reason=reason)
        )
        self._event(
            st.case,
            "status_changed",
            at,
            by,
            lambda o=old, n=new, r=reason: {"old": o, "new": n, "reason": r},
        )

    # --- writing -------------------------------------------------------------------------------

    def _flush(self):
        from qingshou.compliance.models import ComplianceDecision
        from qingshou.contact.models import ContactAttempt
        from qingshou.payments.models import Payment, Promise
        from qingshou.portfolio.models import (
            Address,
            Assignment,
            Case,
            CaseEvent,
            CaseHold,
            CaseStatusChange,
            Debtor,
            Party,
            Phone,
        )

        counts = {
            "cases": self.cases,
            "debtors": self.debtors,
            "parties": self.parties,
            "phones": self.phones,
            "addresses": self.addresses,
            "contacts": self.contacts,
            "promises": self.promises,
            "payments": self.payments,
            "holds": self.holds,
            "events": self.events,
        }
        for name, rows in counts.items():
            self.counts[name] += len(rows)
        self.counts["invalid_phones"] += sum(1 for p in self.phones if p.status == "invalid")
        if self.write:
            Debtor.objects.bulk_create(self.debtors)
            Party.objects.bulk_create(self.parties)
            Phone.objects.bulk_create(self.phones)
            Address.objects.bulk_create(self.addresses)
            Case.objects.bulk_create(self.cases)
            Assignment.objects.bulk_create(self.assignments)
            CaseStatusChange.objects.bulk_create(self.status_changes)
            CaseHold.objects.bulk_create(self.holds)
            for d in self.decisions:
                case, party, phone = d._refs
                d.case_id, d.party_id, d.phone_id = case.pk, party.pk, phone.pk if phone else None
            ComplianceDecision.objects.bulk_create(self.decisions)
            ContactAttempt.objects.bulk_create(self.contacts)
            Promise.objects.bulk_create(self.promises)
            Payment.objects.bulk_create(self.payments)
            self.events.sort(key=lambda e: e[2])
            CaseEvent.objects.bulk_create(
                CaseEvent(case=case, type=type_, at=at, user=user, data=data())
                for case, type_, at, user, data in self.events
            )
        for p in self.promises:
            self.counts[f"promises_{p.status}"] += 1
        self._reset_chunk()

    def run(self) -> DemoResult:
        from qingshou.compliance.models import ComplianceDecision
        from qingshou.contact.models import ContactAttempt
        from qingshou.org.models import Role
        from qingshou.payments.models import Payment, Promise
        from qingshou.portfolio.models import Assignment, Case, CaseHold, CaseStatusChange, Placement

        started = monotime.monotonic()
        stamped = [
            Placement._meta.get_field("created_at"),
            Case._meta.get_field("created_at"),
            Assignment._meta.get_field("at"),
            CaseStatusChange._meta.get_field("at"),
            CaseHold._meta.get_field("placed_at"),
            ComplianceDecision._meta.get_field("decided_at"),
            ContactAttempt._meta.get_field("noted_at"),
            Promise._meta.get_field("created_at"),
            Payment._meta.get_field("created_at"),
        ]
        with _given_timestamps(stamped):
            self.build_org()
            for idx in range(self.n_cases):
                self._case(idx)
                if len(self.cases) >= CHUNK:
                    self._flush()
                    if self.progress:
                        self.progress(self.counts["cases"], self.n_cases)
            self._flush()
        if self.write:
            from qingshou.core.audit import audit

            audit(
                "demo.generate",
                actor=None,
                cases=self.n_cases,
                seed=self.seed,
                counts={k: v for k, v in self.counts.items()},
            )
        self.hash_all.update(self.hash_people.digest())
        labels = dict(Role.choices)
        logins = []
        for username, role, team_no, cred_key, _staff in _user_specs():
            scope = (
                self.teams[team_no - 1].name
                if team_no
                else self.creditors[cred_key].name
                if cred_key
                else ""
                if role == Role.ADMIN
                else self.branch.name
            )
            logins.append((username, str(labels[role]), scope))
        return DemoResult(
            counts=dict(self.counts),
            seconds=monotime.monotonic() - started,
            fingerprint=self.hash_all.hexdigest(),
            people_fingerprint=self.hash_people.hexdigest(),
            first_debtor=self.first_debtor,
            logins=logins,
            kept_existing=self.kept_existing,
            password=self.password,
        )


def generate(
    *,
    cases: int = DEFAULT_CASES,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    write: bool = True,
    password: str | None = None,
    progress=None,
) -> DemoResult:
    """Build the demo office and N cases. With write=False nothing touches the database (the plan
    and its fingerprint only). Raises DemoRefused when the database already holds cases."""
    if cases < 1:
        raise ValueError("cases must be at least 1")
    now = now or timezone.now()
    gen = Generator(cases=cases, seed=seed, now=now, write=write, password=password, progress=progress)
    if not write:
        return gen.run()
    with transaction.atomic():
        ensure_empty()
        return gen.run()


def load_area_demos(log=None) -> dict:
    """After the core demo data: each area's own demo (templates, letters, plans and offers, skip
    tracing, recordings, a strategy run), in dependency order. Each runs its own actions and
    transactions, so it is called outside generate()'s transaction."""
    from qingshou.arrangements.demo import demo_arrangements
    from qingshou.letters.demo import load_demo_letters
    from qingshou.messaging.demo import load_demo_templates
    from qingshou.skiptrace.demo import demo_skiptrace
    from qingshou.strategy.demo import demo_strategy
    from qingshou.telephony.demo import demo_telephony

    steps = [
        ("templates", load_demo_templates),
        ("letters", load_demo_letters),
        ("arrangements", demo_arrangements),
        ("skiptrace", demo_skiptrace),
        ("telephony", demo_telephony),
        ("strategy", demo_strategy),
    ]
    out = {}
    for name, step in steps:
        started = monotime.monotonic()
        out[name] = step()
        if log:
            log(name, monotime.monotonic() - started)
    return out
