"""Where a page's time goes: one page, requested in this process, with its CPU, queries and profile.

    python -m bench profile [--page my-work] [--requests 200] [--page-cache-seconds 0] [--top 30]
                            [--step dotted.path.of.a.function ...]

Needs the database of `python -m bench generate`, as `load` does, and serves the same pages to
the same signed-in cast through Django's test client (the whole middleware stack, no HTTP
server). It prints the Python CPU per request (this process only: PostgreSQL's own time is not
in it), the queries of one request with their time, and cProfile's functions sorted by their own
time and by cumulative time. With `--step`, it also times the named functions without the
profiler (whose overhead falls unevenly: templates make many small calls, the ORM fewer), the
Python CPU per request spent in each. Use it before changing code, and `load` to measure the change.
"""

import argparse
import collections
import cProfile
import importlib
import inspect
import io
import os
import pstats
import statistics
import sys
import time
import types
from collections.abc import Callable

from .db import bench_url, exists
from .generate import LOAD_DATABASE


def _client(page):
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    for name, value in page.cookies.items():
        client.cookies[name] = value
    return client


def _one(client, page) -> None:
    response = client.get(page.path)
    if response.status_code != 200:
        raise SystemExit(f"{page.name} ({page.path}) answered {response.status_code}")


def _time_steps(paths: list[str]) -> tuple[dict[str, float], Callable[[], None]]:
    """Wrap each function named by a dotted path, wherever it is bound (a module that imported it
    by name holds its own reference), so that it adds its CPU time to the returned totals; and a
    function that puts every original back."""
    spent: dict[str, float] = collections.defaultdict(float)
    replaced: list[tuple[object, str, object]] = []  # (holder, name, what it held)

    def replace(holder, name: str, value) -> None:
        replaced.append((holder, name, inspect.getattr_static(holder, name)))
        setattr(holder, name, value)

    for path in paths:
        owner, name = _owner_of(path)
        held = inspect.getattr_static(owner, name)
        # A classmethod or staticmethod is timed inside its descriptor, which stays what it was.
        kind = type(held) if isinstance(held, classmethod | staticmethod) else None
        original = held.__func__ if kind else getattr(owner, name)

        def timed(*args, _original=original, _path=path, **kwargs):
            start = time.process_time()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[_path] += time.process_time() - start

        if not isinstance(owner, types.ModuleType):  # a method: its class holds it
            replace(owner, name, kind(timed) if kind else timed)
            continue
        for module in list(sys.modules.values()):
            for attribute, value in list(vars(module).items() if module else ()):
                if value is original:
                    replace(module, attribute, timed)

    def restore() -> None:
        for holder, name, value in reversed(replaced):
            setattr(holder, name, value)

    return spent, restore


def _owner_of(path: str):
    """(the module or class that holds the last name of `path`, that name)."""
    parts = path.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for name in parts[split:-1]:
            owner = getattr(owner, name)
        return owner, parts[-1]
    raise SystemExit(f"--step {path}: no such module")


def main(argv) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench profile", description=__doc__)
    parser.add_argument("--page", default="my-work", help="a page of bench.load (default my-work)")
    parser.add_argument("--requests", type=int, default=200, help="requests timed and profiled (default 200)")
    parser.add_argument("--page-cache-seconds", type=int, help="PAGE_CACHE_SECONDS (0: render every request)")
    parser.add_argument("--top", type=int, default=30, help="functions listed (default 30)")
    parser.add_argument("--save", help="also write the profile to this file (for pstats or snakeviz)")
    parser.add_argument("--database", default=LOAD_DATABASE, help=f"generated database (default {LOAD_DATABASE})")
    parser.add_argument(
        "--step",
        action="append",
        default=[],
        help="a function to time on its own, e.g. coordination.worklist.task_view.decorate (repeatable)",
    )
    args = parser.parse_args(argv)

    url = bench_url(args.database)
    if not exists(url):
        raise SystemExit(f"no database {args.database}: run `python -m bench generate` first")
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="bench.settings", LOG_LEVEL="WARNING")
    if args.page_cache_seconds is not None:
        os.environ["PAGE_CACHE_SECONDS"] = str(args.page_cache_seconds)
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from .load import _pages

    page = next((page for page in _pages() if page.name == args.page), None)
    if page is None:
        raise SystemExit(f"no page {args.page!r}")
    client = _client(page)
    for _ in range(5):  # warm: templates, URL resolvers, the kept parts
        _one(client, page)

    with CaptureQueriesContext(connection) as captured:
        _one(client, page)
    print(f"{page.name} {page.path}: {len(captured)} queries")
    for query in captured.captured_queries:
        print(f"  {float(query['time']) * 1000:6.2f} ms  {query['sql'][:160]}")

    spent, _ = _time_steps(args.step)  # the process ends after the report: nothing to put back
    cpu, wall = [], []
    for _ in range(args.requests):
        start, started = time.process_time(), time.perf_counter()
        _one(client, page)
        cpu.append((time.process_time() - start) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    print(f"\nPython CPU per request: median {statistics.median(cpu):.2f} ms, mean {statistics.fmean(cpu):.2f} ms")
    # Wall time adds PostgreSQL's own work and the round trips to it (one request at a time, so
    # no queueing): the number to compare for a database setting, on an otherwise idle machine.
    print(f"Wall time per request: median {statistics.median(wall):.2f} ms, mean {statistics.fmean(wall):.2f} ms")
    for path in args.step:  # nested steps count in each that contains them
        print(f"  {spent[path] / args.requests * 1000:6.2f} ms  {path}")

    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.requests):
        _one(client, page)
    profile.disable()
    # Unlike seconds, the count of Python function calls does not depend on what else the machine
    # is doing: a steady measure of a change's effect on a busy machine.
    calls = pstats.Stats(profile).total_calls
    print(f"Python function calls per request: {calls / args.requests:,.0f}")
    if args.save:
        profile.dump_stats(args.save)
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(order).print_stats(args.top)
        print(f"\n--- by {order} ({args.requests} requests) ---")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:12000])
