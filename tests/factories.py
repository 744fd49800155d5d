"""Small builders for tests. Only synthetic data."""

from datetime import date, timedelta
from decimal import Decimal
from itertools import count

from django.utils import timezone

from qingshou.contact.outcomes import ensure_standard_outcomes
from qingshou.org.models import Branch, Creditor, Role, Team, User
from qingshou.portfolio.models import Case, Debtor, Party, Phone, Placement, Relation

_seq = count(1)


def make_user(username, role, *, team=None, branch=None, creditor=None, password="pw-test-123456"):
    user = User(username=username, role=role, team=team, branch=branch or (team.branch if team else None),
                creditor=creditor, display_name=username)
    user.set_password(password)
    user.save()
    return user


def make_case(placement, *, collector=None, total=Decimal("12000.00"), dpd=45, third_parties=1, assigned_days_ago=0):
    n = next(_seq)
    debtor = Debtor.objects.create(name=f"测试{n}", id_number=f"11010119900101{n:04d}"[:18])
    debtor_party = Party.objects.create(debtor=debtor, name=debtor.name, relation=Relation.SELF)
    Phone.objects.create(party=debtor_party, number=f"138{n:08d}", status=Phone.Status.UNKNOWN)
    for i in range(third_parties):
        p = Party.objects.create(debtor=debtor, name=f"联系人{n}-{i}", relation=Relation.SPOUSE if i == 0 else
                                 Relation.FRIEND)
        Phone.objects.create(party=p, number=f"139{n:05d}{i:03d}")
    principal = (total * Decimal("0.8")).quantize(Decimal("0.01"))
    case = Case.objects.create(
        placement=placement, debtor=debtor, creditor=placement.creditor, account_number=f"ACC{n:08d}",
        product="信用卡", dpd=dpd, bucket="M2", principal=principal, interest=total - principal,
        total_due=total,
    )
    if collector is not None:
        case.assigned_to = collector
        case.team = collector.team
        case.assigned_at = timezone.now() - timedelta(days=assigned_days_ago)
        case.save()
    return case


class World:
    """Two creditors, one branch, two teams, and the persona users."""

    def __init__(self):
        # Transactional tests flush the data migration's rows; put the standard outcome codes back.
        ensure_standard_outcomes()
        self.branch = Branch.objects.create(code="sh", name="上海分部")
        self.other_branch = Branch.objects.create(code="bj", name="北京分部")
        self.team1 = Team.objects.create(branch=self.branch, code="t1", name="一组")
        self.team2 = Team.objects.create(branch=self.branch, code="t2", name="二组")
        self.team_far = Team.objects.create(branch=self.other_branch, code="t9", name="北京一组")
        self.creditor_a = Creditor.objects.create(code="bank-a", name="甲银行信用卡中心")
        self.creditor_b = Creditor.objects.create(code="cf-b", name="乙消费金融")
        today = date.today()
        self.placement_a = Placement.objects.create(creditor=self.creditor_a, code="A-001",
                                                    starts_on=today - timedelta(days=10),
                                                    ends_on=today + timedelta(days=80))
        self.placement_b = Placement.objects.create(creditor=self.creditor_b, code="B-001",
                                                    starts_on=today - timedelta(days=10),
                                                    ends_on=today + timedelta(days=80))
        self.collector = make_user("c1", Role.COLLECTOR, team=self.team1)
        self.collector_peer = make_user("c2", Role.COLLECTOR, team=self.team1)
        self.collector_team2 = make_user("c3", Role.COLLECTOR, team=self.team2)
        self.leader = make_user("lead1", Role.TEAM_LEADER, team=self.team1)
        self.supervisor = make_user("sup", Role.SUPERVISOR, branch=self.branch)
        self.qa = make_user("qa", Role.QA, branch=self.branch)
        self.desk = make_user("desk", Role.COMPLAINTS, branch=self.branch)
        self.lawyer = make_user("law", Role.LAWYER, branch=self.branch)
        self.creditor_user_a = make_user("cred_a", Role.CREDITOR, creditor=self.creditor_a)
        self.creditor_user_b = make_user("cred_b", Role.CREDITOR, creditor=self.creditor_b)
        self.admin = make_user("admin", Role.ADMIN)
        self.admin.is_staff = True
        self.admin.is_superuser = True
        self.admin.save()
        # Cases: one for each collector, from creditor A except the team-2 one (creditor B).
        self.case = make_case(self.placement_a, collector=self.collector)
        self.case_peer = make_case(self.placement_a, collector=self.collector_peer)
        self.case_team2 = make_case(self.placement_b, collector=self.collector_team2)

    @property
    def personas(self):
        return {
            "collector": self.collector,
            "collector_peer": self.collector_peer,
            "collector_team2": self.collector_team2,
            "leader": self.leader,
            "supervisor": self.supervisor,
            "creditor_a": self.creditor_user_a,
            "creditor_b": self.creditor_user_b,
            "admin": self.admin,
        }
