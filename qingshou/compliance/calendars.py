"""Calendars for the engine, built from the maintained `holidays` package (no database).

`china_calendar(years)` gives mainland China's statutory holidays, the rest days moved by 调休, and the
adjusted working days that fall on weekends. Creditor / agency blackout dates are added by the caller
(the adapter from the database; a scenario file inline).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import lru_cache

from qingshou.compliance.types import Calendar


@lru_cache(maxsize=32)
def _china(years: tuple[int, ...]) -> tuple[frozenset[date], frozenset[date]]:
    import holidays

    cn = holidays.China(years=list(years))
    days_off = frozenset(cn.keys())
    workdays = frozenset(d for d in getattr(cn, "weekend_workdays", ()) if d.year in years)
    return days_off, workdays


def china_calendar(years: Iterable[int], blackout: Iterable[date] = ()) -> Calendar:
    ys = tuple(sorted(set(years)))
    days_off, workdays = _china(ys)
    return Calendar(holidays=days_off, workdays=workdays, blackout=frozenset(blackout), known_years=frozenset(ys))
