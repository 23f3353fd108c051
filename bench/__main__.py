"""`python -m bench <name> [options]`: run the benchmark bench/<name>.py."""

import argparse
import importlib
import os

BENCHMARKS = {
    "instantiate": "Instantiate the checklists of many cycle starts (docs/performance.md).",
    "generate": "Create the dashboard-load database: 1,000 patients, ~100,000 tasks, 200 users.",
    "load": "Serve that database with gunicorn and measure My work, the patient page and the board with wrk.",
    "profile": "One page in this process: its Python CPU per request, its queries and cProfile's top functions.",
    "background": "The sealer and a writer on other wards, beside `load` (which starts it itself).",
    "reschedule": "Rebuild a 9-cycle course after a break in cycle 2: queries stay constant (docs/performance.md).",
    "completions": "A burst of concurrent task completions on a copy of the generated database (the audit write path).",
    "audit_pages": "The audit log's pages on a long log: keyset paging against COUNT(*) and OFFSET.",
    "ledger_csv": "The reminder ledger's CSV: peak memory streamed a chunk at a time against built in memory.",
    "reminders": "Deliver 10,000 reminders through Redis and a worker (vs. no-op tasks); sweep 1,000,000 tasks.",
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("name", choices=sorted(BENCHMARKS), help="; ".join(f"{k}: {v}" for k, v in BENCHMARKS.items()))
    args, rest = parser.parse_known_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    importlib.import_module(f"bench.{args.name}").main(rest)


if __name__ == "__main__":
    main()
