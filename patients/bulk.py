"""Writing new values to many rows in one statement, at a cost that does not grow per row in Python.

Django's `bulk_update` builds a `CASE WHEN id = … THEN …` expression per row and field and resolves
each one in Python: for the 228 events a rebuild after a break moves, that was most of the
rebuild's own time (docs/performance.md, "Rebuilding a course, cheaper"). Here the values travel
as one array per column and PostgreSQL joins them to the rows (`UPDATE … FROM unnest(…)`).
"""

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model


def rows_update(objs: Sequence[Model], fields: Sequence[str]) -> int:
    """Write `fields` of `objs` (instances of one model, already saved) as they are in memory, in
    one UPDATE whatever their number; returns the number of rows written. The row triggers (the
    audit log) fire for each row as for any UPDATE, and the statement carries the audit context
    like every write (accounts.audit). Elsewhere than on PostgreSQL, Django's `bulk_update`."""
    if not objs:
        return 0
    model = type(objs[0])
    if connection.vendor != "postgresql":  # SQLite (`make run`) has no arrays to unnest
        return model.objects.bulk_update(objs, fields)
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    if any(not column.concrete or column.primary_key or column.many_to_many for column in columns):
        raise TypeError(f"Only a model's own non-key columns can be written: {', '.join(fields)}")
    if any(column.db_type(connection).endswith("]") for column in columns):
        # unnest() would flatten an array column's arrays into one: the wrong values, silently.
        raise TypeError(f"An array column cannot be written by rows_update: {', '.join(fields)}")
    # In id order, as the rows are locked elsewhere (checklists' events): where the plan follows the
    # arrays, the rows are written, and locked, in that order.
    objs = sorted(objs, key=lambda obj: obj.pk)
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), meta.pk
    arrays = [[obj.pk for obj in objs]] + [
        [column.get_db_prep_save(getattr(obj, column.attname), connection) for obj in objs] for column in columns
    ]
    casts = ", ".join(f"%s::{field.db_type(connection)}[]" for field in [pk, *columns])
    names = ", ".join(f"c{index}" for index in range(len(arrays)))
    assignments = ", ".join(f"{quote(column.column)} = v.c{index}" for index, column in enumerate(columns, start=1))
    # Only the model's own quoted names and types go into the text; the values are parameters.
    sql = f"UPDATE {table} SET {assignments} FROM unnest({casts}) AS v({names}) WHERE {table}.{quote(pk.column)} = v.c0"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)
        return cursor.rowcount
