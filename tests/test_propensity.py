"""Propensity score: rules fallback, active-model loading, history-only features, honest holdout metrics."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db.models import Q
from django.utils import timezone, translation

from qingshou.core.errors import ActionError
from qingshou.core.models import AuditLog
from qingshou.propensity import actions, dataset, score, training
from qingshou.propensity.models import ScoreModel
from qingshou.strategy.facts import CaseFacts
from tests.matrix.propensity import make_model

BASE = CaseFacts(case_id=1, bucket="M2", dpd=45, balance=12000.0, phones_valid=1, phones_total=2)


def _s(**changes):
    from dataclasses import replace

    return score.score_facts([replace(BASE, **changes)])[0]


@pytest.mark.django_db
def test_rules_score_without_model_is_monotone_in_the_obvious_directions():
    assert not ScoreModel.objects.exists()
    base = _s()
    assert 0 < base < 1
    assert _s(dpd=400) < _s(dpd=100) < _s(dpd=20)
    assert _s(balance=150000) < _s(balance=30000) < _s(balance=1000)
    assert _s(broken_promises_90d=2) < base
    assert _s(payments_90d=1) > base and _s(kept_promises_90d=1) > base
    assert _s(right_party_contacts_30d=1, contacts_30d=1) > base
    assert _s(phones_valid=0) < base < _s(phones_valid=2)
    assert _s(flags=frozenset({"lost_contact"})) < base
    # the documented points: M2 (dpd 31–60) +0.6, balance 3k–20k 0, one valid phone 0, base −0.6
    assert base == pytest.approx(1 / (1 + np.exp(-0.0)))


def test_features_and_feature_matrix_agree():
    facts = [BASE, CaseFacts(case_id=2, bucket="M1", dpd=3, balance=500.0, days_since_contact=4, open_promise=True,
                             promise_due_in_days=-1, flags=frozenset({"hardship"}))]
    x = score.feature_matrix(facts)
    assert x.shape == (2, len(score.FEATURE_NAMES))
    assert score.features(facts[1]) == x[1].tolist()
    row = dict(zip(score.FEATURE_NAMES, x[1], strict=True))
    assert row["never_contacted"] == 0 and row["days_since_contact"] == 4
    assert row["promise_due_in_days"] == -1 and row["hardship"] == 1
    assert dict(zip(score.FEATURE_NAMES, x[0], strict=True))["never_contacted"] == 1


def test_score_facts_is_vectorised_for_large_inputs():
    import time

    facts = [CaseFacts(case_id=i, bucket="M1", dpd=i % 400, balance=float(1000 + i % 50000)) for i in range(200000)]
    t = time.perf_counter()
    out = score.score_facts(facts, model=None)
    assert len(out) == 200000 and all(0 <= v <= 1 for v in out[:1000])
    assert time.perf_counter() - t < 5.0   # ~0.4 s on one core; 1,000,000 facts take about 2 s


@pytest.mark.django_db
def test_active_model_is_used_and_reloaded_when_the_active_version_changes(world):
    score.clear_cache()
    low = make_model(active=True)      # DummyClassifier: prior 0.25 for everybody
    assert score.score_facts([BASE]) == [pytest.approx(0.25)]
    other = make_model()
    import io

    import joblib
    from sklearn.dummy import DummyClassifier

    est = DummyClassifier(strategy="prior").fit(np.zeros((4, len(score.FEATURE_NAMES))), [1, 1, 1, 0])
    buf = io.BytesIO()
    joblib.dump(est, buf)
    other.blob = buf.getvalue()
    other.save()
    actions.do_activate_model(other, acting_user=world.supervisor)
    score.clear_cache()  # on_commit does not run inside the test transaction
    assert score.score_facts([BASE]) == [pytest.approx(0.75)]
    low.refresh_from_db()
    assert not low.active
    assert AuditLog.objects.filter(action="propensity.activate", object_id=str(other.pk)).exists()
    actions.do_deactivate_models(acting_user=world.supervisor)
    score.clear_cache()
    assert score.score_facts([BASE])[0] == pytest.approx(0.5)   # back to the rules score of BASE


def test_holdout_rows_are_after_the_cutoff_and_never_fitted(monkeypatch):
    rng = np.random.default_rng(3)
    n = 3000
    days = rng.integers(0, 10, size=n)
    x = rng.normal(size=(n, 4))
    y = (rng.random(n) < 1 / (1 + np.exp(-(x[:, 0] * 2 - 2)))).astype(int)
    fitted = []
    real = training.make_estimator

    def spy(seed=0):
        est = real(seed)
        orig = est.fit

        def fit(xf, yf):
            fitted.append(xf.copy())
            return orig(xf, yf)
        est.fit = fit
        return est

    monkeypatch.setattr(training, "make_estimator", spy)
    res = training.fit_evaluate(x, y, days, 7)
    assert (days[res.holdout_index] >= 7).all() and (days[res.train_index] < 7).all()
    assert len(fitted) == 1
    fitted_rows = {tuple(r) for r in fitted[0]}
    assert not any(tuple(r) in fitted_rows for r in x[res.holdout_index])
    assert res.metrics["holdout"]["rows"] == len(res.holdout_index) == int((days >= 7).sum())
    assert 0.7 < res.metrics["holdout"]["auc"] < 1.0
    assert len(res.metrics["holdout"]["reliability"]) == 10


def test_training_refuses_one_class_and_too_little_data():
    x = np.zeros((600, 3))
    days = np.arange(600) % 6
    with translation.override("en"), pytest.raises(training.TrainingRefused, match="one class"):
        training.fit_evaluate(x, np.zeros(600, dtype=int), days, 4)
    with translation.override("en"), pytest.raises(training.TrainingRefused, match="Too little"):
        training.fit_evaluate(x[:50], np.arange(50) % 2, days[:50], 4)
    with translation.override("zh-hans"), pytest.raises(training.TrainingRefused, match="两类"):
        training.fit_evaluate(x, np.ones(600, dtype=int), days, 4)


@pytest.mark.django_db
def test_train_model_command_refuses_without_history(world):
    with translation.override("en"), pytest.raises(CommandError, match="Too little history"):
        call_command("train_model", "--weeks", "4")
    assert not ScoreModel.objects.exists()


def _weekly_history(n=4000):
    """Synthetic snapshots over 10 weekly dates: paying falls with days past due (feature 0)."""
    rng = np.random.default_rng(5)
    dates = dataset.snapshot_dates(weeks=10)
    snap = np.array([dates[i % 10].toordinal() for i in range(n)])
    x = np.zeros((n, len(score.FEATURE_NAMES)))
    x[:, 0] = rng.integers(1, 400, n)
    y = (rng.random(n) < np.exp(-x[:, 0] / 100)).astype(int)
    return dates, snap, x, y


@pytest.mark.django_db
def test_do_train_model_stores_version_with_holdout_metrics(world, monkeypatch):
    dates, snap, x, y = _weekly_history()
    n = len(y)
    monkeypatch.setattr(dataset, "build", lambda d, today=None: dataset.Dataset(x, y, snap, np.arange(n), d))
    row = actions.do_train_model(acting_user=world.supervisor, weeks=10, activate=True)
    assert row.version == 1 and row.active and row.cutoff == dates[-3]
    assert row.holdout_rows == int((snap >= dates[-3].toordinal()).sum()) and row.train_rows == n - row.holdout_rows
    assert row.metrics["holdout"]["auc"] > 0.6 and row.metrics["holdout"]["brier"] > 0
    assert AuditLog.objects.filter(action="propensity.train", object_id=str(row.pk)).exists()
    score.clear_cache()
    young, old = score.score_facts([BASE, CaseFacts(case_id=2, bucket="M7+", dpd=390, balance=12000.0)])
    assert young > old


def _contact(case, at, outcome):
    from qingshou.contact.models import ContactAttempt

    party = case.debtor.parties.get(relation="self")
    return ContactAttempt.objects.create(case=case, party=party, phone=party.phones.first(),
                                         collector=case.assigned_to, started_at=at, outcome=outcome)


@pytest.mark.django_db
def test_features_as_of_a_date_do_not_see_the_future(world, outcomes):
    from qingshou.payments.models import Payment, Promise

    rpc = next(o for o in outcomes.values() if o.right_party)
    today = timezone.localdate()
    d = today - timedelta(days=40)
    cut = dataset.start_of(d)
    case = world.case
    type(case).objects.filter(pk=case.pk).update(created_at=cut - timedelta(days=200))
    _contact(case, cut - timedelta(days=3), rpc)
    Payment.objects.create(case=case, amount=Decimal("300"), paid_at=cut - timedelta(days=10), source_ref="p-before")
    before, ids = dataset.facts_as_of(d, today=today)
    mine = ids.index(case.pk)
    x_before = score.feature_matrix(before)[mine]
    assert before[mine].payments_90d == 1 and before[mine].right_party_contacts_30d == 1
    # the future: contacts, a promise, a payment and a hold after the cut
    _contact(case, cut + timedelta(hours=2), rpc)
    p = Promise.objects.create(case=case, amount=Decimal("500"), due_date=d + timedelta(days=3),
                               created_by=world.collector)
    Promise.objects.filter(pk=p.pk).update(created_at=cut + timedelta(days=1), status="kept",
                                           resolved_at=cut + timedelta(days=3))
    Payment.objects.create(case=case, amount=Decimal("500"), paid_at=cut + timedelta(days=3), source_ref="p-after")
    type(case).objects.filter(pk=case.pk).update(total_due=case.total_due - Decimal("500"))
    after, ids2 = dataset.facts_as_of(d, today=today)
    assert ids2 == ids
    np.testing.assert_array_equal(score.feature_matrix(after)[mine], x_before)
    assert after[mine].balance == before[mine].balance
    # and the label does see the payment after the cut
    assert dataset.labels(d, [case.pk]).tolist() == [1]
    assert dataset.labels(d - timedelta(days=60), [case.pk]).tolist() == [0]


@pytest.mark.django_db
def test_activating_an_active_model_is_refused(world):
    m = make_model(active=True)
    with pytest.raises(ActionError):
        actions.do_activate_model(m, acting_user=world.supervisor)


# --- the call-value model: expected money of the next call --------------------------------------------


@pytest.mark.django_db
def test_call_labels_count_the_weeks_calls_and_the_money_of_their_promises(world, outcomes):
    from qingshou.payments.models import Promise

    rpc = next(o for o in outcomes.values() if o.right_party)
    d = timezone.localdate() - timedelta(days=40)
    cut = dataset.start_of(d)
    case = world.case
    _contact(case, cut - timedelta(hours=1), rpc)                        # before the window
    call = _contact(case, cut + timedelta(days=2), rpc)
    _contact(case, cut + timedelta(days=6, hours=20), rpc)
    late = _contact(case, cut + timedelta(days=dataset.CALL_DAYS, hours=1), rpc)   # after the window
    Promise.objects.create(case=case, contact=call, amount=Decimal("800"), due_date=d + timedelta(days=5),
                           created_by=world.collector, status="kept", paid_amount=Decimal("800"))
    Promise.objects.create(case=case, contact=late, amount=Decimal("900"), due_date=d + timedelta(days=12),
                           created_by=world.collector, status="kept", paid_amount=Decimal("900"))
    calls, money = dataset.call_labels(d, [case.pk, 999999])
    assert calls.tolist() == [2, 0] and money.tolist() == [800.0, 0.0]


def test_top_capture_is_the_share_of_money_in_the_top_fifth_of_calls():
    calls = np.ones(10, dtype=int)
    money = np.array([0, 0, 0, 0, 0, 0, 0, 0, 50.0, 50.0])
    assert training.top_capture(money, calls, money) == 1.0                # a perfect order: all in the top two
    assert training.top_capture(-money, calls, money) == 0.0
    assert training.top_capture(np.zeros(10), calls, np.zeros(10)) is None


def test_call_value_fits_before_the_cutoff_and_measures_after_it():
    rng = np.random.default_rng(3)
    n = 6000
    x = np.zeros((n, len(score.FEATURE_NAMES)))
    x[:, 0] = rng.integers(1, 400, n)
    snap = np.arange(n) % 10
    calls = rng.integers(0, 3, n)
    money = np.where(rng.random(n) < np.exp(-x[:, 0] / 80), 500.0, 0.0) * calls
    est, m = training.fit_call_value(x, calls, money, snap, 7)
    called = calls > 0
    assert m["train_rows"] == int((called & (snap < 7)).sum())
    assert m["holdout_rows"] == int((called & (snap >= 7)).sum())
    assert m["holdout_calls"] == int(calls[snap >= 7].sum())
    assert m["top_fifth_capture"] > 0.4                  # money lies with low days past due; random would be 0.2
    young = np.zeros((1, x.shape[1]))
    old = young.copy()
    young[0, 0], old[0, 0] = 10, 390
    assert est.predict(young)[0] > est.predict(old)[0]
    est, m = training.fit_call_value(x[:100], calls[:100], money[:100], snap[:100], 7)
    assert est is None and "200" in m["refused"] and m["train_rows"] < 200
    assert training.fit_call_value(x, None, None, snap, 7)[0] is None


@pytest.mark.django_db
def test_a_stored_call_value_model_orders_cases_and_old_versions_still_load(world, monkeypatch):
    dates, snap, x, y = _weekly_history()
    n = len(y)
    calls = np.ones(n, dtype=int)
    money = y * 1000.0
    monkeypatch.setattr(dataset, "build", lambda d, today=None: dataset.Dataset(
        x, y, snap, np.arange(n), d, calls, money))
    row = actions.do_train_model(acting_user=world.supervisor, weeks=10, activate=True)
    assert row.metrics["call_value"]["top_fifth_capture"] > 0.2
    predictor = row.load_predictor()
    assert predictor.value_estimator is not None
    score.clear_cache()
    young = CaseFacts(case_id=1, bucket="M1", dpd=10, balance=5000.0)
    old = CaseFacts(case_id=2, bucket="M7+", dpd=390, balance=5000.0)
    scores, values = score.score_and_value_facts([young, old])
    assert values[0] > values[1] >= 0
    # a version stored before the call-value model (the bare classifier) loads and falls back to score x balance
    import io

    import joblib

    buf = io.BytesIO()
    joblib.dump(predictor.estimator, buf)
    ScoreModel.objects.filter(pk=row.pk).update(blob=buf.getvalue())
    score.clear_cache()
    legacy = ScoreModel.objects.get(pk=row.pk).load_predictor()
    assert legacy.value_estimator is None
    scores, values = score.score_and_value_facts([young, old])
    assert values == pytest.approx([round(s * 5000.0, 2) for s in scores])


def test_without_a_model_the_value_is_score_times_balance():
    facts = [CaseFacts(case_id=1, bucket="M1", dpd=10, balance=3000.0), CaseFacts(case_id=2, bucket="M2", dpd=40,
                                                                                  balance=20000.0)]
    scores, values = score.score_and_value_facts(facts, model=None)
    assert values == pytest.approx([round(s * b, 2) for s, b in zip(scores, (3000.0, 20000.0), strict=True)])


@pytest.mark.django_db
def test_what_the_debtor_said_is_a_feature_live_and_as_of_a_date(world, outcomes):
    """拒绝还款 (refuse_to_pay) counts as a refusal in 90 days; 无力还款 (cannot_pay) sets the "hardship" flag; both
    as of a date see only conversations before it, and the live facts see the last 90 days."""
    from qingshou.strategy.engine import build_facts

    today = timezone.localdate()
    now = timezone.now()
    case = world.case
    type(case).objects.filter(pk=case.pk).update(created_at=now - timedelta(days=400))
    _contact(case, now - timedelta(days=120), outcomes["refuse_to_pay"])    # too old for the 90-day window
    _contact(case, now - timedelta(days=20), outcomes["refuse_to_pay"])
    _contact(case, now - timedelta(days=5), outcomes["refuse_to_pay"])
    live = next(f for f in build_facts(Q(pk=case.pk), today, now))
    assert live.refusals_90d == 2 and "hardship" not in live.flags
    _contact(case, now - timedelta(days=2), outcomes["cannot_pay"])
    live = next(f for f in build_facts(Q(pk=case.pk), today, now))
    assert live.refusals_90d == 2 and "hardship" in live.flags
    row = dict(zip(score.FEATURE_NAMES, score.feature_matrix([live])[0], strict=True))
    assert row["refusals_90d"] == 2 and row["hardship"] == 1
    # as of 10 days ago: one refusal in its 90 days (the 120-day one is 110 days before), no hardship yet
    facts, ids = dataset.facts_as_of(today - timedelta(days=10), today=today)
    past = facts[ids.index(case.pk)]
    assert past.refusals_90d == 1 and "hardship" not in past.flags
    # the rules score takes a refusal off, and no more than two
    base = _s()
    assert _s(refusals_90d=1) < base and _s(refusals_90d=5) == pytest.approx(_s(refusals_90d=2))
    assert _s(flags=frozenset({"hardship"})) < base
