"""What people may type into identifiers and names, shared by every app.

A control character (a line break, a tab, a NUL) in an MRN or a name breaks exports, labels and
the lines of a log; a bidirectional override (U+202E…) makes a name read differently on screen
than it is stored, so that two patients can look alike. Neither belongs in a name.
"""

import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.deconstruct import deconstructible

# Joiners shape letters in Arabic, Indic and other scripts: the only format characters kept.
JOINERS = {"\u200c", "\u200d"}

validate_mrn = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9./-]*\Z",
    "An MRN has letters and digits, with . / - between them if needed: no spaces, quotes or line breaks.",
    code="mrn",
)


@deconstructible
class PlainTextValidator:
    """No control character and no invisible format character (bidirectional overrides,
    zero-width spaces, byte-order marks), joiners aside."""

    message = "Remove the invisible or control characters (line breaks, tabs, direction marks)."
    code = "plain_text"

    def __call__(self, value: str) -> None:
        for character in value:
            category = unicodedata.category(character)
            if category == "Cc" or (category == "Cf" and character not in JOINERS):
                raise ValidationError(self.message, code=self.code)

    def __eq__(self, other) -> bool:
        return isinstance(other, PlainTextValidator)


validate_plain_text = PlainTextValidator()
