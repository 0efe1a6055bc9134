"""Match keys: the normalised forms of a patient's name, phone and email that the
duplicate check compares. Pure functions, no Django; stored on ``Patient`` (indexed)
so the check is an index lookup, not a table scan.

If a rule here changes, add a migration that recomputes the stored keys (as
``0002_patient_match_keys`` does), or old rows stop matching new ones.
"""

from __future__ import annotations

import re
import unicodedata

PHONE_KEY_DIGITS = 9
KEY_MAX_LENGTH = 255  # folding can lengthen text ("ß" -> "ss"); keys are cut to fit the column


def fold(text: str) -> str:
    """Casefolded, accents stripped, runs of spaces made one, ends trimmed:
    ``"  Élodie  Anne "`` -> ``"elodie anne"``, ``"MOREAU"`` -> ``"moreau"``.

    Letters with no decomposition (``ø``, ``ł``) are kept as they are.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def name_key(family_name: str, given_name: str) -> str:
    """``"family|given"``, each folded; empty when either part is empty."""
    family, given = fold(family_name), fold(given_name)
    return f"{family}|{given}"[:KEY_MAX_LENGTH] if family and given else ""


def phone_key(phone: str) -> str:
    """The last 9 digits when the number has at least 9, otherwise all its digits.

    So ``"+44 7700 900123"``, ``"07700 900123"`` and ``"(0)7700-900-123"`` share the
    key ``"700900123"``: an international prefix or a trunk ``0`` does not matter.
    Two numbers with at least 9 digits match on their last 9; a short number
    (an extension, a local number) only matches the same digits exactly. A phone
    with no digits has no key and matches nothing.
    """
    digits = "".join(c for c in phone if c.isascii() and c.isdigit())
    return digits[-PHONE_KEY_DIGITS:]


def email_key(email: str) -> str:
    """The address lower-cased and trimmed (the whole address, local part included)."""
    return email.strip().lower()[:KEY_MAX_LENGTH]


SEARCH_TEXT_MAX_LENGTH = 600
_WORD = re.compile(r"[^\W_]+")
# Letters with no decomposition, as a keyboard without them types them (search only: the
# duplicate keys keep them, see ``fold``).
_PLAIN = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "\u0131": "i", "æ": "ae", "œ": "oe", "þ": "th"}
)


def words(text: str) -> list[str]:
    """The folded words of ``text``, split as a search splits them: ``"Saint-Exupéry"``
    -> ``["saint", "exupery", "saintexupery"]`` (a word written with inner punctuation is
    also kept whole, so "obrien" finds "O'Brien"); letters with no accent to strip are
    written plain (``"Małgorzata Østergaard"`` -> ``["malgorzata", "ostergaard"]``)."""
    found: list[str] = []
    for chunk in fold(text).translate(_PLAIN).split():
        parts = _WORD.findall(chunk)
        found.extend(parts)
        if len(parts) > 1:
            found.append("".join(parts))
    return found


def search_text(given_name: str, family_name: str) -> str:
    """The words a name search matches on, each once, between spaces:
    ``" anne marie moreau "``. A search token matches a patient when it starts one of
    these words (``" " + token`` occurs in the text)."""
    seen: dict[str, None] = {}
    for word in [*words(given_name), *words(family_name)]:
        seen.setdefault(word, None)
    text = " ".join(seen)
    if len(text) > SEARCH_TEXT_MAX_LENGTH - 2:
        text = text[: SEARCH_TEXT_MAX_LENGTH - 2].rsplit(" ", 1)[0]
    return f" {text} " if text else ""


def sort_name(family_name: str, given_name: str) -> str:
    """What the patient list sorts on: family then given name, folded (so "de Silva" sits
    beside "Delaney" and "Hart" before "Hartley")."""
    return f"{fold(family_name)} {fold(given_name)}".strip()[:KEY_MAX_LENGTH]
