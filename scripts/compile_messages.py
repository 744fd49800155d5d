"""Build qingshou/locale/zh_Hans/LC_MESSAGES/django.{po,mo} from the fragments in qingshou/locale/src/*.po.

Each part of the code base keeps its Chinese translations in its own fragment file so that changes
do not collide; this merges them (later fragments win on a duplicate msgid) and compiles the .mo,
which is committed so that no gettext tools are needed to run qingshou.
"""

import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "qingshou" / "locale" / "src"
OUT = ROOT / "qingshou" / "locale" / "zh_Hans" / "LC_MESSAGES"


def main() -> int:
    merged = polib.POFile()
    merged.metadata = {
        "Content-Type": "text/plain; charset=UTF-8",
        "Language": "zh_Hans",
        "Plural-Forms": "nplurals=1; plural=0;",
    }
    seen: dict[tuple[str, str | None], polib.POEntry] = {}
    for path in sorted(SRC.glob("*.po")):
        for entry in polib.pofile(str(path)):
            if not entry.msgstr and not entry.msgstr_plural:
                continue
            key = (entry.msgid, entry.msgctxt)
            if key in seen:
                merged.remove(seen[key])
            new = polib.POEntry(msgid=entry.msgid, msgstr=entry.msgstr, msgctxt=entry.msgctxt,
                                msgid_plural=entry.msgid_plural, msgstr_plural=entry.msgstr_plural)
            seen[key] = new
            merged.append(new)
    OUT.mkdir(parents=True, exist_ok=True)
    merged.save(str(OUT / "django.po"))
    merged.save_as_mofile(str(OUT / "django.mo"))
    print(f"compiled {len(merged)} messages from {len(list(SRC.glob('*.po')))} fragments")
    return 0


if __name__ == "__main__":
    sys.exit(main())
