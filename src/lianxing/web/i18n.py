"""Translations for the pages: Babel catalogs under ``locale/``, Chinese by default.

Message ids are English. The ``.po`` files are compiled in memory when the app starts,
so the repository holds no compiled binaries and a catalog edit needs no build step.
"""

from __future__ import annotations

import io
from functools import cache
from gettext import NullTranslations
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANGUAGE_COOKIE = "lx_lang"


@cache
def translations(language: str) -> NullTranslations:
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po.is_file():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def pick_language(cookie: str | None, user_locale: str | None) -> str:
    """The cookie (a click on the switch) wins, then the user's setting, then Chinese."""
    for candidate in (cookie, user_locale):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE
