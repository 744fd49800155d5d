"""One content scanner for notes, SMS text, letter text and call transcripts.

Multi-pattern matching with an Aho-Corasick automaton (pyahocorasick) over the curated phrase list
in `phrases.yaml` (data, Chinese and English): one pass over the text whatever the number of
phrases. `scan(text, audience=...)` returns every hit; the engine blocks outgoing text with hits in
the policy's `content_scan` categories ("content.<category>"), and QA flags notes and transcripts.

Normalisation keeps offsets: ASCII is lower-cased and full-width ASCII (Ａ, ！) folded to half-width
character by character, so `text[hit.start:hit.end]` is the matched original text. English phrases
match whole words only ("sue" does not hit "issue"); Chinese phrases match anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import ahocorasick
import yaml

PHRASES_FILE = Path(__file__).with_name("phrases.yaml")
DEBTOR, THIRD_PARTY = "debtor", "third_party"

# Same-length folding: full-width ASCII -> ASCII, ideographic space -> space, A-Z -> a-z.
_FOLD = {c: c + 0x20 for c in range(ord("A"), ord("Z") + 1)}
_FOLD.update({c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)})
_FOLD.update({c: (c - 0xFEE0) + 0x20 for c in range(0xFF21, 0xFF3B)})  # full-width A-Z -> a-z
_FOLD[0x3000] = 0x20


def normalise(text: str) -> str:
    """Lower-case ASCII and fold full-width ASCII, keeping every character's position."""
    return text.translate(_FOLD)


@dataclass(frozen=True)
class Hit:
    category: str
    phrase: str
    start: int
    end: int                                       # exclusive
    severity: int


@dataclass(frozen=True)
class _Entry:
    category: str
    phrase: str
    severity: int
    third_party_only: bool
    word: bool                                     # needs word boundaries (ASCII phrase)


class Scanner:
    def __init__(self, data: dict):
        self.categories: dict[str, int] = {}
        automaton = ahocorasick.Automaton()
        entries: dict[str, list[_Entry]] = {}
        for category, spec in data.items():
            severity = int(spec.get("severity", 3))
            third_party_only = spec.get("audience", "all") == THIRD_PARTY
            self.categories[category] = severity
            for phrase in [*spec.get("zh", []), *spec.get("en", [])]:
                key = normalise(str(phrase).strip())
                if not key:
                    continue
                entry = _Entry(category, str(phrase), severity, third_party_only, key.isascii())
                entries.setdefault(key, []).append(entry)
        for key, items in entries.items():
            automaton.add_word(key, (len(key), tuple(items)))
        automaton.make_automaton()
        self._automaton = automaton

    def scan(self, text: str, *, audience: str = DEBTOR) -> list[Hit]:
        if not text:
            return []
        folded = normalise(text)
        third_party = audience == THIRD_PARTY
        hits: list[Hit] = []
        n = len(folded)
        for end_index, (length, items) in self._automaton.iter(folded):
            start = end_index - length + 1
            end = end_index + 1
            for e in items:
                if e.third_party_only and not third_party:
                    continue
                if e.word and ((start > 0 and _is_word(folded[start - 1]))
                               or (end < n and _is_word(folded[end]))):
                    continue
                hits.append(Hit(e.category, e.phrase, start, end, e.severity))
        return _drop_contained(hits)

    def categories_in(self, text: str, *, audience: str = DEBTOR) -> set[str]:
        return {h.category for h in self.scan(text, audience=audience)}


def _is_word(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


def _drop_contained(hits: list[Hit]) -> list[Hit]:
    """Within a category keep the longest of nested hits ("抓你坐牢" rather than also "坐牢")."""
    if len(hits) < 2:
        return hits
    hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
    kept: list[Hit] = []
    for h in hits:
        if any(k.category == h.category and k.start <= h.start and h.end <= k.end for k in kept):
            continue
        kept.append(h)
    return kept


@lru_cache(maxsize=1)
def default_scanner() -> Scanner:
    with PHRASES_FILE.open(encoding="utf-8") as fh:
        return Scanner(yaml.safe_load(fh))


def scan(text: str, *, audience: str = DEBTOR) -> list[Hit]:
    """Every phrase hit in `text`; audience "third_party" also reports third-party disclosure words."""
    return default_scanner().scan(text, audience=audience)
