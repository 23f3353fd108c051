"""The six sections of the unit report, one module each: each function takes the unit and the
period and returns a Section of tables, aggregated by the database in a fixed number of queries
whatever the period and the number of patients (tests/reports/test_query_count.py).

"The unit's" records are those of the patients whose unit it is now (a transferred patient's
history moves with them); reminders are those sent to the unit's staff.
"""
