"""End to end in headless Chromium: a supervisor starts a draft, changes a rule in the textarea (first with a
mistake, which is shown per rule), saves, publishes, and sees the diff against the previous version."""

import json

import pytest

from qingshou.strategy.models import StrategyVersion
from tests.browser import SHOTS, browser_marks, login
from tests.factories import World

pytestmark = browser_marks


@pytest.fixture
def browser_world(browser_env):
    from qingshou.strategy.actions import ensure_default_strategy

    ensure_default_strategy()   # transactional tests flush the seed migration's row
    return World()


def test_supervisor_edits_publishes_and_sees_the_diff(browser_world, live_server, page):
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    v1 = StrategyVersion.objects.get(status="published")
    login(page, base, "sup")
    page.goto(f"{base}/strategy/")
    page.click("#new-draft")
    page.wait_for_load_state()
    rules = json.loads(page.input_value("#rules-text"))
    bad = [*rules[:-1], {**rules[-1], "treatment": "shout"}]
    page.fill("#rules-text", json.dumps(bad, ensure_ascii=False, indent=2))
    page.click("#save-draft")
    page.wait_for_load_state()
    assert "未知处置“shout”" in page.inner_text("#rule-errors")
    good = [*rules[:-1], {**rules[-1], "treatment": "robot_call", "priority": 6}]
    page.fill("#rules-text", json.dumps(good, ensure_ascii=False, indent=2))
    page.fill("input[name=note]", "默认改为机器人电催")
    page.click("#save-draft")
    page.wait_for_load_state()
    assert "已保存" in page.inner_text("body")
    assert "机器人电催" in page.inner_text("#rule-table")
    page.screenshot(path=str(SHOTS / "strategy-draft.png"), full_page=True)
    page.click("#publish")
    page.wait_for_load_state()
    diff = page.inner_text("#diff-table")
    assert "修改" in diff and "处置：人工电催 → 机器人电催" in diff and "3 → 6" in diff
    page.screenshot(path=str(SHOTS / "strategy-diff.png"), full_page=True)
    v1.refresh_from_db()
    assert v1.status == "retired"
    assert StrategyVersion.objects.get(status="published").rules[-1]["treatment"] == "robot_call"
    from qingshou.strategy.actions import do_save_draft, do_start_experiment, run_strategy
    from tests.factories import make_case

    w = browser_world
    for i in range(6):
        make_case(w.placement_a, collector=w.collector if i % 2 else None)
    challenger = do_save_draft(v1.rules, note="挑战者", acting_user=w.supervisor)
    exp = do_start_experiment(challenger, share="0.3", name="默认规则对照", acting_user=w.supervisor)
    run, _ = run_strategy(trigger="manual")
    page.goto(f"{base}/strategy/runs/{run.pk}/")
    assert "（新案件）" in page.inner_text("#moves")
    page.screenshot(path=str(SHOTS / "strategy-run.png"), full_page=True)
    page.goto(f"{base}/strategy/experiments/{exp.pk}/")
    assert "挑战者" in page.inner_text("#arm-results")
    page.screenshot(path=str(SHOTS / "strategy-experiment.png"), full_page=True)
    page.goto(f"{base}/strategy/")
    page.screenshot(path=str(SHOTS / "strategy-index.png"), full_page=True)
    login(page, base, "c1")
    page.goto(f"{base}/cases/mine/")
    page.screenshot(path=str(SHOTS / "strategy-queue.png"), full_page=True)
    rows = page.inner_text("table tbody").splitlines()
    badges = [r.split("\t")[0] for r in rows]
    assert len(badges) == 4 and set(badges) <= {"人工电催", "机器人电催"}
    assert badges == sorted(badges, key=lambda b: b != "人工电催")      # agent work first (the arm decides which)
