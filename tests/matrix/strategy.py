"""Permission matrix of the strategy screens: team leaders view; supervisors and admins edit."""

import json

from tests.matrix.common import Endpoint, rule

VIEW = rule(403, leader=200, supervisor=200, admin=200)
EDIT = rule(403, supervisor=302, admin=302)


def _published(w, u):
    from qingshou.strategy.actions import ensure_default_strategy

    return ensure_default_strategy()


def _draft(w, u):
    from qingshou.strategy.actions import do_save_draft
    from qingshou.strategy.rules import DEFAULT_RULES

    return do_save_draft(DEFAULT_RULES, note="矩阵草稿", acting_user=w.supervisor, based_on=_published(w, u))


def _retired(w, u):
    from qingshou.strategy.actions import do_publish

    old = _published(w, u)
    do_publish(_draft(w, u), acting_user=w.supervisor)
    return old


def _experiment(w, u):
    from qingshou.strategy.actions import do_start_experiment
    from qingshou.strategy.models import Experiment

    running = Experiment.objects.filter(status="running").first()
    return running or do_start_experiment(_draft(w, u), share="0.2", name="矩阵试验", acting_user=w.supervisor)


def _run(w, u):
    from qingshou.strategy.actions import run_strategy

    return run_strategy(trigger="manual")[0]


def _rules_post(w, u):
    from qingshou.strategy.rules import DEFAULT_RULES

    return {"rules": json.dumps(DEFAULT_RULES[:-1] + [{**DEFAULT_RULES[-1], "priority": 6}], ensure_ascii=False),
            "note": "矩阵修改"}


WEB = [
    Endpoint("strategy:index", "get", VIEW),
    Endpoint("strategy:new_draft", "post", EDIT, audit="strategy.draft"),
    Endpoint("strategy:version", "get", VIEW, kwargs=lambda w, u: {"pk": _published(w, u).pk}),
    Endpoint("strategy:version", "post", EDIT, audit="strategy.draft", kwargs=lambda w, u: {"pk": _draft(w, u).pk},
             data=_rules_post),
    Endpoint("strategy:publish", "post", EDIT, audit="strategy.publish", kwargs=lambda w, u: {"pk": _draft(w, u).pk}),
    Endpoint("strategy:rollback", "post", EDIT, audit="strategy.rollback",
             kwargs=lambda w, u: {"pk": _retired(w, u).pk}),
    Endpoint("strategy:diff", "get", VIEW),
    Endpoint("strategy:experiment_start", "post", EDIT, audit="strategy.experiment_start",
             data=lambda w, u: {"challenger": _draft(w, u).pk, "share": "0.2", "name": "矩阵"}),
    Endpoint("strategy:experiment", "get", VIEW, kwargs=lambda w, u: {"pk": _experiment(w, u).pk}),
    Endpoint("strategy:experiment_stop", "post", EDIT, audit="strategy.experiment_stop",
             kwargs=lambda w, u: {"pk": _experiment(w, u).pk}),
    Endpoint("strategy:run_now", "post", EDIT, audit="strategy.run_requested"),
    Endpoint("strategy:run", "get", VIEW, kwargs=lambda w, u: {"pk": _run(w, u).pk}),
]
