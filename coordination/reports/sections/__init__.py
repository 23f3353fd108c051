"""The six sections of the unit report, one module each: each function takes the unit and the
period and returns a Section of tables, aggregated by the database in a fixed number of queries
whatever the period and the number of patients (tests/reports/test_query_count.py).

"The unit's" records are those of the patients who were on the unit at the moment that each
section reads (patients.selectors.unit_at, from the transfers: a moved patient's past stays on
the unit where it happened); handoffs are those sent by the unit or to it, reminders those sent
to the unit's staff.
"""
