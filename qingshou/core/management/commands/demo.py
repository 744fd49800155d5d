"""`qingshou demo [--cases N] [--seed S]`: load synthetic demo data into an empty database."""

import unicodedata

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from qingshou.core.demo import DEFAULT_CASES, DEFAULT_SEED, DemoRefused, ensure_empty, generate, load_area_demos

MAX_CASES = 200_000
CTX = "demo summary"  # message context: these short words are translated for this table only
COUNT_LABELS = [
    ("cases", "cases"),
    ("debtors", "debtors"),
    ("parties", "parties"),
    ("phones", "phones"),
    ("invalid_phones", "invalid phones"),
    ("addresses", "addresses"),
    ("contacts", "contact records"),
    ("promises", "promises to pay"),
    ("payments", "payments"),
    ("holds", "holds"),
    ("events", "timeline events"),
    ("users", "users"),
]


def _width(text: str) -> int:
    """Columns a string takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _database_hint() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return _(
            "To start again with demo data, stop qingshou, delete %(path)s and run `qingshou migrate` "
            "and `qingshou demo`."
        ) % {"path": db["NAME"]}
    return _(
        "To start again with demo data, drop and re-create the database, then run `qingshou migrate` "
        "and `qingshou demo`."
    )


class Command(BaseCommand):
    help = (
        "Load synthetic demo data (creditors, teams, users of every role, cases with history) into an "
        "empty database."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--core-only", action="store_true",
            help="Only the office, cases and their history; skip the areas' demo data (templates, letters, "
                 "plans, skip tracing, recordings, strategy run).",
        )
        parser.add_argument(
            "--cases",
            type=int,
            default=DEFAULT_CASES,
            help=f"Number of cases to create (default {DEFAULT_CASES}).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"Random seed; the same seed gives the same debtors (default {DEFAULT_SEED}).",
        )

    def handle(self, *, cases, seed, verbosity, core_only=False, **options):
        if not 1 <= cases <= MAX_CASES:
            raise CommandError(_("--cases must be between 1 and %(max)s.") % {"max": f"{MAX_CASES:,}"})

        def progress(done, total):
            if verbosity >= 2:
                self.stdout.write(f"  {done:,}/{total:,}")

        try:
            ensure_empty()  # checked again inside generate()'s transaction
        except DemoRefused:
            raise CommandError(self.refusal()) from None
        if verbosity >= 1:
            self.stdout.write(
                _("Generating demo data: %(cases)s cases, seed %(seed)s…")
                % {"cases": f"{cases:,}", "seed": seed}
            )
        try:
            result = generate(cases=cases, seed=seed, progress=progress)
        except DemoRefused:
            raise CommandError(self.refusal()) from None

        def area_done(name, seconds):
            if verbosity >= 2:
                self.stdout.write(f"  {name}: {seconds:.1f} s")

        if not core_only:
            load_area_demos(log=area_done)
        if verbosity < 1:
            return
        self.stdout.write(
            self.style.SUCCESS(_("Demo data generated in %(seconds).1f s.") % {"seconds": result.seconds})
        )
        width = max(_width(pgettext(CTX, label)) for _key, label in COUNT_LABELS)
        for key, label in COUNT_LABELS:
            self.stdout.write(f"  {_pad(pgettext(CTX, label), width)}  {result.counts.get(key, 0):>8,}")
        self.stdout.write(
            "  "
            + _("promises: %(pending)s pending, %(kept)s kept, %(broken)s broken")
            % {
                "pending": result.counts.get("promises_pending", 0),
                "kept": result.counts.get("promises_kept", 0),
                "broken": result.counts.get("promises_broken", 0),
            }
        )
        self.stdout.write("")
        self.write_logins(result)

    @staticmethod
    def refusal() -> str:
        return (
            _("The database already holds cases; demo data are only loaded into an empty database.")
            + " "
            + _database_hint()
        )

    def write_logins(self, result) -> None:
        self.stdout.write(
            self.style.MIGRATE_HEADING(
                _("Demo logins (password for all: %(password)s)") % {"password": result.password}
            )
        )
        rows = [(pgettext(CTX, "username"), pgettext(CTX, "role"), pgettext(CTX, "scope"))] + [
            tuple(r) for r in result.logins
        ]
        widths = [max(_width(r[i]) for r in rows) for i in range(2)]
        for username, role, scope in rows:
            note = ""
            if username in result.kept_existing:
                note = "  " + _("(existing user, left unchanged)")
            self.stdout.write(
                f"  {_pad(username, widths[0])}  {_pad(role, widths[1])}  {scope}{note}".rstrip()
            )
