"""End to end in headless Chromium: a supervisor sees the model versions with their holdout metrics,
opens one (reliability table), activates it, then switches back to the rules score."""

import pytest

from qingshou.propensity.models import ScoreModel
from tests.browser import SHOTS, browser_marks, login
from tests.factories import World
from tests.matrix.propensity import make_model

pytestmark = browser_marks


@pytest.fixture
def browser_world(browser_env):
    return World()


def test_supervisor_activates_a_model_and_returns_to_the_rules_score(browser_world, live_server, page):
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    m = make_model()
    ScoreModel.objects.filter(pk=m.pk).update(metrics={"holdout": {
        "auc": 0.712, "brier": 0.0612, "base_rate": 0.071, "rows": 100, "positives": 7,
        "reliability": [{"decile": i, "rows": 10, "mean_score": i / 20, "observed_rate": i / 21}
                        for i in range(1, 11)]},
        "call_value": {"train_rows": 900, "train_calls": 1400, "holdout_rows": 300, "holdout_calls": 420,
                       "holdout_money_per_call": 37.5, "top_fifth_capture": 0.463}})
    login(page, base, "sup")
    page.goto(f"{base}/propensity/")
    assert "未启用模型" in page.inner_text("#active-badge")
    assert "0.712" in page.inner_text("#models")
    page.click(f"#models a:has-text('v{m.version}')")
    assert "0.0612" in page.inner_text("#metrics")
    assert page.locator("#reliability tbody tr").count() == 10
    assert "0.463" in page.inner_text("#call-value") and "前五分之一" in page.inner_text("#call-value")
    page.screenshot(path=str(SHOTS / "propensity-detail.png"), full_page=True)
    page.click("#activate")
    page.wait_for_load_state()
    assert f"v{m.version}" in page.inner_text("#active-badge")
    page.screenshot(path=str(SHOTS / "propensity-index.png"), full_page=True)
    assert ScoreModel.objects.get(pk=m.pk).active
    page.click("#deactivate")
    page.wait_for_load_state()
    assert "规则评分" in page.inner_text("#active-badge")
    assert not ScoreModel.objects.filter(active=True).exists()
