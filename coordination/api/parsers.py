"""The API's JSON bodies (settings.REST_FRAMEWORK's parser): DRF's parser, with what it lets through
to a 500 refused as malformed JSON, a 400 like any other (coordination.api.errors).

- Nesting deeper than Python's recursion limit ("[[[[…" a hundred thousand times: a little over
  100 kB): json raises RecursionError, which DRF does not catch.
- A lone surrogate ("\\udc00", half of a UTF-16 pair): valid JSON, but no UTF-8 text can hold it, so
  the database refused a reason or an answer holding one after every check had passed, and an
  error that named it (an unknown field) could not even be written out.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

TOO_DEEP = "JSON parse error - nested too deeply."
LONE_SURROGATE = (
    "JSON parse error - a \\u escape between \\ud800 and \\udfff stands alone: "
    "send the character itself, or both halves of its pair."
)


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if _holds_lone_surrogate(data):
            raise ParseError(LONE_SURROGATE)
        return data


def _holds_lone_surrogate(data) -> bool:
    """Whether a string of the parsed body, a key included, cannot be written as UTF-8. Walked
    without recursion: the body may be nested almost as deep as the recursion limit."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False
