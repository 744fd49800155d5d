"""Shared pieces of the permission matrix: personas, expectation rules and the Endpoint record."""

from dataclasses import dataclass

PERSONAS = [
    "collector", "collector_peer", "collector_team2", "leader", "supervisor", "creditor_a", "creditor_b", "admin",
]


def rule(default, **overrides):
    out = {p: default for p in PERSONAS}
    out.update(overrides)
    return out


# Who may do what to world.case, by role rules (DESIGN §2):
CASE_READ = rule(404, collector=200, leader=200, supervisor=200, creditor_a=200)  # scope decides; 404 outside
CASE_WORK_WEB = rule(404, collector=302, leader=302, supervisor=302, creditor_a=403)  # read-only in scope: 403
CASE_WORK_API = rule(403, collector=201, leader=201, supervisor=201, collector_peer=404, collector_team2=404)
OWN_QUEUE = rule(403, collector=200, collector_peer=200, collector_team2=200, leader=200)
CASE_LISTS = rule(200, admin=403)                                         # admins do no case work
TEAM_FIGURES = rule(403, leader=200, supervisor=200)
COMPLIANCE_VIEW = rule(403, supervisor=200, admin=200)                                   # supervisor, QA, admin only


@dataclass
class Endpoint:
    name: str
    method: str
    expect: dict
    audit: str = ""                      # audit action an allowed write must leave
    audit_for: tuple = ()                # personas for which that audit row is required (default: allowed ones)
    kwargs: object = None                # callable(world, user) -> URL kwargs
    data: object = None                  # callable(world, user) -> request data
    query: object = None                 # callable(world, user) -> query string dict
    json: bool = False
    public: bool = False                 # reachable without a staff login (debtor pages, signed hooks)
