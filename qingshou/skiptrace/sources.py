"""The lawful sources of new contact information (失联修复). A closed set: nothing else is accepted.

Bought personal data, "data companies", scraped social-network dumps and the like are not sources we
may use; the form, the API and the enrichment import refuse any value outside this set.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from qingshou.core.errors import ActionError
from qingshou.portfolio.models import Phone

S = Phone.Source

LAWFUL_SOURCES: tuple[str, ...] = (
    S.RESUPPLY, S.DIR114, S.PROPERTY, S.COMMITTEE, S.EMPLOYER, S.REGISTRY, S.OWN_CONTACTS,
)

# Words a creditor's file may use in its source column, mapped to our codes.
SOURCE_WORDS = {
    "resupply": S.RESUPPLY, "甲方": S.RESUPPLY, "甲方补充": S.RESUPPLY, "委托方": S.RESUPPLY, "补充资料": S.RESUPPLY,
    "dir114": S.DIR114, "114": S.DIR114, "114查号": S.DIR114, "114查号台": S.DIR114,
    "property": S.PROPERTY, "物业": S.PROPERTY,
    "committee": S.COMMITTEE, "居委会": S.COMMITTEE, "村委会": S.COMMITTEE, "村委": S.COMMITTEE,
    "employer": S.EMPLOYER, "单位": S.EMPLOYER, "工作单位": S.EMPLOYER,
    "registry": S.REGISTRY, "公开登记": S.REGISTRY, "工商登记": S.REGISTRY,
    "own_contacts": S.OWN_CONTACTS, "预留联系人": S.OWN_CONTACTS, "本人预留": S.OWN_CONTACTS,
}


def source_choices() -> list[tuple[str, str]]:
    return [(code, S(code).label) for code in LAWFUL_SOURCES]


def check_source(value, *, field: str = "source") -> str:
    """The source code for `value` (a code or a word from SOURCE_WORDS); ActionError for anything else."""
    raw = str(value or "").strip()
    code = SOURCE_WORDS.get(raw) or SOURCE_WORDS.get(raw.lower())
    if code is None:
        raise ActionError({field: _("Only lawful sources may be recorded (creditor re-supply file, 114 directory, "
                                    "property management, residents' or village committee, employer, public "
                                    "registry, the debtor's own contacts); purchased personal data is not "
                                    "allowed.")})
    return str(code)
