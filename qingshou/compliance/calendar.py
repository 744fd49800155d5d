"""The compliance calendar (adapter side): statutory holidays, adjusted working days, blackout dates.

Sources:
* the `holidays` package, country CN: statutory holidays (法定节假日) and the weekend days that are
  working days by the State Council's yearly arrangement (调休上班); weekend days joined to a
  holiday are part of the break and count as holidays (the package lists only the weekdays off);
* `CalendarDate` rows an admin added: holidays or working days the package lacks (e.g. a year whose
  arrangement was announced after the package was released), and blackout dates, for everyone or
  for one creditor.

Known years. The package computes the fixed-rule holidays for any year, but the State Council's
arrangement for a year (which weekend days are worked, which bridge days are off) exists only once
it has been announced and the package updated. A year counts as known (`Calendar.known_years`)
when the package carries the official arrangement for it, or an admin added holiday / working-day
dates for it. For an unknown year the calendar still lists the package's rule-based holidays, but
the year is missing from `known_years` and `unknown_years()` reports it (and a warning is logged
once per process), so screens and the what-if runner can say "the calendar does not know 2027".
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from functools import lru_cache

import holidays as holidays_pkg
from django.db.models import Q

from qingshou.compliance.types import Calendar

log = logging.getLogger(__name__)

COUNTRY = "CN"
_warned: set[int] = set()


@lru_cache(maxsize=64)
def package_year(year: int) -> tuple[frozenset[date], frozenset[date], bool]:
    """(holidays, adjusted working days, official arrangement known) for `year` from the package."""
    try:
        cn = holidays_pkg.country_holidays(COUNTRY, years=year)
    except (NotImplementedError, KeyError):  # pragma: no cover - the package always has CN
        return frozenset(), frozenset(), False
    days = frozenset(d for d in cn if d.year == year)
    workdays = frozenset(d for d in getattr(cn, "weekend_workdays", ()) if d.year == year)
    official = year in _official_years()
    return days, workdays, official


@lru_cache(maxsize=1)
def _official_years() -> frozenset[int]:
    """Years for which the package carries the State Council's holiday arrangement."""
    from holidays.countries.china import ChinaStaticHolidays

    return frozenset(getattr(ChinaStaticHolidays, "special_public_holidays", {}).keys())


def _years(start: date, end: date) -> range:
    return range(start.year, end.year + 1)


def build_calendars(start: date, end: date, creditor_ids) -> dict[int | None, Calendar]:
    """One Calendar per creditor id (and None: no creditor) for [start, end]. One query."""
    from qingshou.compliance.models import CalendarDate

    ids = sorted({c for c in creditor_ids if c is not None})
    holidays: set[date] = set()
    workdays: set[date] = set()
    known: set[int] = set()
    lo, hi = start - timedelta(days=10), end + timedelta(days=10)   # margin: breaks spanning the edges
    for year in _years(lo, hi):
        days, work, official = package_year(year)
        holidays |= {d for d in days if lo <= d <= hi}
        workdays |= {d for d in work if lo <= d <= hi}
        if official and start.year <= year <= end.year:
            known.add(year)
    rows = list(
        CalendarDate.objects.filter(date__gte=lo, date__lte=hi)
        .filter(Q(creditor__isnull=True) | Q(creditor_id__in=ids))
        .values_list("date", "kind", "creditor_id")
    )
    blackout_all: set[date] = set()
    blackout_by: dict[int, set[date]] = {}
    for day, kind, creditor_id in rows:
        if kind == "blackout":
            (blackout_all if creditor_id is None else blackout_by.setdefault(creditor_id, set())).add(day)
        elif creditor_id is None:
            # An admin's holiday / working day overrides the package and makes the year known.
            known.add(day.year)
            if kind == "holiday":
                holidays.add(day)
                workdays.discard(day)
            else:
                workdays.add(day)
                holidays.discard(day)
    holidays = {d for d in _bridge_weekends(holidays, workdays) if start <= d <= end}
    workdays = {d for d in workdays if start <= d <= end}
    known = {y for y in known if start.year <= y <= end.year}
    common = (frozenset(holidays), frozenset(workdays), frozenset(known))
    for year in _years(start, end):
        if year not in known and year not in _warned:
            _warned.add(year)
            log.warning("compliance calendar: the holiday arrangement for %s is not known "
                        "(holidays package %s); admins can add the dates", year, holidays_pkg.__version__)
    out: dict[int | None, Calendar] = {None: Calendar(*common[:2], frozenset(blackout_all), common[2])}
    for cid in ids:
        out[cid] = Calendar(common[0], common[1], frozenset(blackout_all | blackout_by.get(cid, set())), common[2])
    return out


def _bridge_weekends(holidays: set[date], workdays: set[date]) -> set[date]:
    """The whole break: Saturdays and Sundays joined to a holiday (not worked by the arrangement).

    The package lists the statutory and bridge days only; the State Council's notice gives the break
    as a whole ("10月1日至7日放假"), weekend days included, e.g. Sunday 2026-10-04.
    """
    out = set(holidays)
    for h in sorted(holidays):
        for step in (timedelta(days=1), timedelta(days=-1)):
            d = h + step
            while d.weekday() >= 5 and d not in workdays and d not in out:
                out.add(d)
                d += step
    return out


def build_calendar(start: date, end: date, creditor_id: int | None = None) -> Calendar:
    return build_calendars(start, end, [creditor_id])[creditor_id]


def unknown_years(calendar: Calendar, start: date, end: date) -> list[int]:
    """Years of [start, end] the calendar does not know (empty when all are known)."""
    return [y for y in _years(start, end) if y not in calendar.known_years]


def window_for(at_dates) -> tuple[date, date]:
    """The date range a decision may look at: the request day (± a day for zones) to 31 days on
    (the engine walks up to 30 days to find the next allowed time)."""
    dates = list(at_dates)
    return min(dates) - timedelta(days=1), max(dates) + timedelta(days=32)
