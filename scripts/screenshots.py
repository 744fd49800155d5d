"""Screenshots of the main pages, for looking at them: `python scripts/screenshots.py [outdir]`.

Builds a throw-away SQLite database with the test world (tests/factories.py) plus a few more cases
and some history, serves it on a free port, logs in with Playwright (Debian's /usr/bin/chromium)
and writes PNGs (default /tmp/shots). Only synthetic data.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="qs-shots-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qingshou.settings")
os.environ["QINGSHOU_VAR_DIR"] = str(WORK)
os.environ["SQLITE_PATH"] = str(WORK / "shots.sqlite3")
os.environ.setdefault("QINGSHOU_FAST_HASHER", "1")
os.environ.setdefault("DEBUG", "1")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "pw-test-123456"  # tests.factories.make_user's default


def build_data():
    from datetime import timedelta
    from decimal import Decimal

    from django.core.management import call_command
    from django.utils import timezone

    from qingshou.contact.actions import do_log_contact
    from qingshou.contact.models import OutcomeCode
    from qingshou.payments.actions import do_make_promise
    from qingshou.portfolio.actions import do_place_hold
    from tests.factories import World, make_case

    call_command("migrate", verbosity=0)
    w = World()
    outcomes = {o.code: o for o in OutcomeCode.objects.all()}
    extra = [
        make_case(
            w.placement_a, collector=w.collector, total=Decimal("8800.50"), dpd=33, assigned_days_ago=5
        ),
        make_case(w.placement_a, collector=w.collector, total=Decimal("56000.00"), dpd=95, third_parties=3),
        make_case(
            w.placement_b, collector=w.collector, total=Decimal("3200.00"), dpd=12, assigned_days_ago=1
        ),
        make_case(
            w.placement_a, collector=w.collector_peer, total=Decimal("21000.00"), dpd=61, assigned_days_ago=4
        ),
    ]
    now = timezone.localtime()
    at = now.replace(hour=10, minute=15, second=0, microsecond=0)
    if now.hour < 11:
        at -= timedelta(days=1)
    c = extra[1]
    debtor = c.debtor.parties.get(relation="self")
    do_log_contact(
        c,
        party=debtor,
        phone=debtor.phones.first(),
        outcome=outcomes["no_answer"],
        acting_user=w.collector,
        started_at=at,
        notes="",
    )
    do_log_contact(
        c,
        party=debtor,
        phone=debtor.phones.first(),
        outcome=outcomes["rpc"],
        acting_user=w.collector,
        started_at=at + timedelta(minutes=40),
        duration_seconds=185,
        notes="本人表示近期收入下降，愿意先还一部分，月底前答复。",
        institution_stated=True,
    )
    do_make_promise(w.case, amount=Decimal("2000.00"), due_date=timezone.localdate(), acting_user=w.collector)
    d2 = w.case_peer.debtor.parties.get(relation="self")
    do_log_contact(
        w.case_peer,
        party=d2,
        phone=d2.phones.first(),
        outcome=outcomes["ptp"],
        acting_user=w.collector_peer,
        started_at=at,
        duration_seconds=240,
        notes="承诺下周还款",
        institution_stated=True,
        promise_amount=Decimal("3000.00"),
        promise_due_date=timezone.localdate() + timedelta(days=5),
    )
    do_place_hold(extra[3], "fraud", acting_user=w.collector_peer, note="本人称从未办理此卡")
    return w, extra


def serve():
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    httpd = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    httpd.set_app(StaticFilesHandler(WSGIHandler()))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def main(out: Path) -> int:
    import django

    django.setup()
    from datetime import timedelta

    from django.utils import timezone
    from playwright.sync_api import sync_playwright

    w, extra = build_data()
    httpd, base = serve()
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")

        def login(username):
            page.context.clear_cookies()
            page.goto(f"{base}/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            page.click("button.primary")
            page.wait_for_load_state()

        page.goto(f"{base}/login/")
        page.screenshot(path=str(out / "login.png"))
        login("c1")
        page.screenshot(path=str(out / "queue.png"), full_page=True)

        page.goto(f"{base}/cases/{extra[1].pk}/")
        page.screenshot(path=str(out / "case.png"), full_page=True)

        page.goto(f"{base}/cases/{w.case.pk}/")
        page.select_option("#id_outcome", label="承诺还款")
        page.fill("#id_notes", "本人承诺本周五前还款两千元。")
        page.screenshot(path=str(out / "case_promise.png"), full_page=True)
        # Reveal one number (with a reason).
        page.click("text=查看完整号码 >> nth=1")
        page.fill(".reveal-form input[name=reason]", "核对号码")
        page.click(".reveal-form button")
        page.wait_for_selector(".pii-full")

        late = (timezone.localtime() - timedelta(days=1)).replace(hour=23, minute=0)
        page.select_option("#id_outcome", label="无人接听")
        page.fill("#id_started_at", late.strftime("%Y-%m-%dT%H:%M"))
        page.click("#log-form button[type=submit]")
        page.wait_for_selector(".refusal")
        page.screenshot(path=str(out / "case_refused.png"), full_page=True)

        page.select_option("#id_outcome", label="承诺还款")
        page.fill("#id_started_at", timezone.localtime().strftime("%Y-%m-%dT%H:%M"))
        page.fill("#id_promise_amount", "0")
        page.click("#log-form button[type=submit]")
        page.wait_for_load_state()
        page.screenshot(path=str(out / "case_errors.png"), full_page=True)

        login("lead1")
        page.goto(f"{base}/reports/team/")
        page.screenshot(path=str(out / "team.png"), full_page=True)

        page.goto(f"{base}/tokens/")
        page.fill("input[name=name]", "外呼系统对接")
        page.click("form.filters button")
        page.wait_for_selector("#new-secret")
        page.screenshot(path=str(out / "tokens.png"), full_page=True)

        # The compliance officer's screens (the supervisor has compliance.view / compliance.edit).
        login("sup")
        for shot, path in (("compliance_decisions", "/compliance/decisions/"),
                           ("compliance_refusals", "/compliance/refusals/"),
                           ("compliance_policies", "/compliance/policies/"),
                           ("compliance_layer", "/compliance/policies/house/")):
            page.goto(f"{base}{path}")
            page.screenshot(path=str(out / f"{shot}.png"), full_page=True)
        login("lead1")

        page.click(".lang button[value=en]")
        page.wait_for_load_state()
        page.goto(f"{base}/cases/{extra[1].pk}/")
        page.screenshot(path=str(out / "case_en.png"), full_page=True)
        browser.close()
    httpd.shutdown()
    shutil.rmtree(WORK, ignore_errors=True)
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    default = Path(tempfile.gettempdir()) / "shots"
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
