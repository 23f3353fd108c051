"""When an item is due, in words: "2 days before", "1 day 6 hours before", "at the event".

An item's due time is stored as minutes from its care event (negative: before it). People enter
and read it as an amount, a unit and before or after the event; this module turns one into the
other, and nothing else.
"""

MINUTES_PER = {"days": 24 * 60, "hours": 60, "minutes": 1}
UNIT_CHOICES = [("minutes", "minutes"), ("hours", "hours"), ("days", "days")]
BEFORE, AFTER = "before", "after"
DIRECTION_CHOICES = [(BEFORE, "before the event"), (AFTER, "after the event")]
_SINGULAR = {"days": "day", "hours": "hour", "minutes": "minute"}


def _counted(amount: int, unit: str) -> str:
    return f"{amount} {_SINGULAR[unit] if amount == 1 else unit}"


def describe_offset(minutes: int) -> str:
    """An offset in words: 0 → "at the event", -2880 → "2 days before", -1800 → "1 day 6 hours
    before", 30 → "30 minutes after"."""
    if not minutes:
        return "at the event"
    left, parts = abs(minutes), []
    for unit, size in MINUTES_PER.items():
        amount, left = divmod(left, size)
        if amount:
            parts.append(_counted(amount, unit))
    return f"{' '.join(parts)} {BEFORE if minutes < 0 else AFTER}"


def split_offset(minutes: int) -> tuple[int, str, str]:
    """The amount, unit and direction that the item form shows for an offset: the largest unit
    that holds it whole (-2880 → (2, "days", "before"); -90 → (90, "minutes", "before")).
    At the event is 0 hours before."""
    if not minutes:
        return 0, "hours", BEFORE
    direction = BEFORE if minutes < 0 else AFTER
    for unit, size in MINUTES_PER.items():
        if abs(minutes) % size == 0:
            return abs(minutes) // size, unit, direction
    raise AssertionError("every offset is a whole number of minutes")  # pragma: no cover


def join_offset(amount: int, unit: str, direction: str) -> int:
    """The stored minutes of an amount, a unit and a direction (the inverse of split_offset)."""
    if unit not in MINUTES_PER:
        raise ValueError(f"Unknown unit “{unit}”.")
    if direction not in (BEFORE, AFTER):
        raise ValueError(f"Unknown direction “{direction}”.")
    minutes = amount * MINUTES_PER[unit]
    return -minutes if direction == BEFORE else minutes
