"""The audit log's pages on a long log: keyset paging (accounts.paging.keyset_page) against the
COUNT(*) and OFFSET of a Paginator, which the page used before (docs/performance.md, "The audit
log's pages").

Point DATABASE_URL at a copy of a migrated database whose log holds the rows to page through
(`--fill N` adds N synthetic rows with SQL first; the database must not be one you keep: the log
is append-only). Reports the median of five reads of each page, in milliseconds.
"""

import argparse
import statistics
import time


def _fill(rows: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_auditevent (at, actor_id, actor_username, actor_role, action, object_type,
                object_id, patient_id, ip, user_agent, outcome, detail)
            SELECT timestamptz '2025-01-01' + g * interval '30 seconds', 1 + g %% 400, 'user' || (g %% 400), 'nurse',
                (ARRAY['view','view','view','view','update','create','complete','login','logout',
                    'export'])[1 + g %% 10],
                'patients.patient', (g %% 5000)::text, 1 + (g::bigint * 7919) %% 5000, '10.0.0.1', 'Mozilla/5.0',
                CASE WHEN g %% 997 = 0 THEN 'failure' ELSE 'success' END,
                jsonb_build_object('patients', jsonb_build_array(1 + (g::bigint * 7919) %% 5000))
            FROM generate_series(1, %s) AS g
            """,
            [rows],
        )
        cursor.execute("ANALYZE accounts_auditevent")


def _ms(read) -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        read()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench audit_pages")
    parser.add_argument("--fill", type=int, default=0, help="add this many synthetic rows first")
    args = parser.parse_args(argv)
    import django

    django.setup()
    from django.core.paginator import Paginator
    from django.http import QueryDict

    from accounts.audit_report import PAGE_SIZE, AuditFilter
    from accounts.models import AuditEvent
    from accounts.paging import keyset_page

    if args.fill:
        _fill(args.fill)
    total = AuditEvent.objects.count()
    print(f"{total:,} rows in the log; pages of {PAGE_SIZE}")
    # The page's filters: none, an action, a patient, a rare outcome, an outcome no row has (the
    # walk's worst case), two together, a user with no row, one who did
    # something every 400th row, an old month and everything since its start (docs/performance.md).
    for filters in (
        "",
        "action=update",
        "patient=42",
        "outcome=failure",
        "outcome=denied",
        "action=update&outcome=failure",
        "user=nobody",
        "user=user7",
        "start=2025-06-01&end=2025-06-30",
        "start=2025-06-01",
    ):
        filterset = AuditFilter(QueryDict(filters), queryset=AuditEvent.objects.order_by("-id"))
        assert filterset.is_valid(), filters
        # The Paginator reads the filtered queryset; the keyset pages read it as the page does
        # (`rows`: the user filter as the union of its arms, accounts.paging.Arms).
        events, rows = filterset.qs, filterset.rows
        ids = events.values_list("pk", flat=True)
        matching = ids.count()
        pages = max(1, -(-matching // PAGE_SIZE))  # an empty list is one page, saying so
        for number in sorted({number for number in (1, 10, pages // 2, pages) if 1 <= number <= pages}):
            # The row just above the page: where an "Older" link would go on from.
            before = ids[(number - 1) * PAGE_SIZE - 1] if number > 1 else None
            old = _ms(lambda events=events, number=number: list(Paginator(events, PAGE_SIZE).get_page(number)))
            new = _ms(lambda rows=rows, before=before: list(keyset_page(rows, size=PAGE_SIZE, before=before)))
            print(
                f"{filters or 'no filter':32} page {number:>5,}: OFFSET and COUNT {old:8.1f} ms   keyset {new:6.1f} ms"
            )
