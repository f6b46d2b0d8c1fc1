"""Port old-style message dicts into the gettext catalogues (for branches written before them).

    .venv/bin/python scripts/dicts_to_po.py path/to/old_locale_module.py [...]
    make messages

Each file must define `MESSAGES = {key: (english, french)}` (the former bot/locales/*.py
format). Keys already in the catalogues are left alone (reported); new keys are added to
storage/locales/{en,fr}/LC_MESSAGES/entonnoir.po. A text with "(s)" is refused: write it as a
plural entry by hand (msgid KEY, msgid_plural COUNT_PARAM, one msgstr per form).
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

LOCALES = Path(__file__).resolve().parents[1] / "storage" / "locales"


def main(paths: list[str]) -> int:
    new: dict[str, tuple[str, str]] = {}
    for path in paths:
        for key, (english, french) in runpy.run_path(path)["MESSAGES"].items():
            if "(s)" in english or "(s)" in french:
                print(f"{key}: has '(s)', write it as a plural entry by hand", file=sys.stderr)
                return 1
            new[key] = (english, french)
    for index, lang in enumerate(("en", "fr")):
        po = LOCALES / lang / "LC_MESSAGES" / "entonnoir.po"
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        for key, texts in new.items():
            if key in catalog:
                print(f"{lang}: {key} already there, kept", file=sys.stderr)
            else:
                catalog.add(key, texts[index])
        with po.open("wb") as handle:
            write_po(handle, catalog, width=0, sort_output=True)
    print(f"{len(new)} messages read; now run `make messages`.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
