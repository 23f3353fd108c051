"""Dashboard load: requests per second and latency of My work, the patient page, the board, the
API's task list and the reports.

    python -m bench load [--rounds 3] [--duration 10] [--connections 20] [--workers 4] [--only PAGE ...]

Needs the database of `python -m bench generate` (care_bench_load on the server of
DATABASE_URL) and wrk (`apt-get install wrk`). It starts gunicorn on 127.0.0.1 with
bench/settings.py (production settings, DEBUG off, plus a bare `hello/` view), signs in the
generated cast (a ward nurse and her coordinator) through bench/sessions.py, checks that every
page answers 200 with its content, warms up, then runs wrk with the same connections against
each page in turn, `--rounds` times. It reports the median round (requests per second, p50, p95
and p99 latency), each page's share of hello's requests per second taken round by round, and
the CPU that gunicorn's workers and PostgreSQL spent per request. It asserts nothing; the
numbers and how to read them are in docs/performance.md, "Dashboard load".
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .background import APPLICATION_NAME as BACKGROUND
from .db import bench_url, exists
from .generate import LOAD_DATABASE

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).with_name("wrk_report.lua")


@dataclass
class Page:
    name: str
    path: str
    cookies: dict[str, str]
    expected: str  # text that only a right answer holds (not the sign-in page)
    headers: dict[str, str] = field(default_factory=dict)  # beside the cookies: a token's Authorization


@dataclass
class Result:
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    wrong: int
    socket_errors: int
    cpu_ms: float  # gunicorn workers' and PostgreSQL backends' CPU per request, whatever else ran
    database_cpu_ms: float  # of which the PostgreSQL backends'


def _environment(args, url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_STATIC_MANIFEST": "0",
        "LOG_LEVEL": "WARNING",
    }
    env.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-not-for-production")
    overrides = {
        "BENCH_SESSION_ENGINE": args.session_engine,
        "PAGE_CACHE_SECONDS": args.page_cache_seconds,
        "BENCH_CONN_MAX_AGE": args.conn_max_age,
    }
    for name, value in overrides.items():
        env.pop(name, None)
        if value is not None:
            env[name] = str(value)
    return env


def _pages() -> list[Page]:
    """Sign in the generated cast; their pages, hello first."""
    from django.urls import reverse

    from .generate import load_cast
    from .sessions import signed_in_cookies, token_headers

    cast = load_cast()
    nurse, coordinator = signed_in_cookies(cast.nurse), signed_in_cookies(cast.coordinator)
    return [
        Page("hello", "/hello/", {}, "Hello, world"),
        # The floor of a signed-in page that shows patients (bench/urls.py): the nurse's.
        Page("signed-in", "/signed-in/", nurse, "patients, version"),
        Page("my-work", reverse("home"), nurse, 'id="my-work-counts"'),
        Page("patient", reverse("patient_detail", args=[cast.patient.pk]), nurse, cast.patient.mrn),
        Page("board", reverse("board"), coordinator, "Overdue tasks"),
        # The REST API's task list, first page (50), as a program reads it with the nurse's
        # personal token: one indexed lookup of the token, and a write of its last use a minute.
        Page("api-tasks", reverse("api:task-list"), {}, '"results"', token_headers(cast.nurse)),
        # The coordinator's unit report over 90 days (issue 18): the ward of 200 patients.
        Page("reports", reverse("reports:unit") + "?period=90", coordinator, "Open overdue tasks at the end of"),
    ]


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def _headers(page: Page) -> dict[str, str]:
    """What the page's caller sends: its cookies, and any other header (a token)."""
    return {**({"Cookie": _cookie_header(page.cookies)} if page.cookies else {}), **page.headers}


def _get(port: int, page: Page, *, timeout: float = 30) -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = _headers(page)
    conn.request("GET", page.path, headers=headers)
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    return response.status, response.getheader("Location", ""), body


def _check(port: int, page: Page) -> int:
    """The page answers 200 with its content (not a redirect to sign in): its size in bytes."""
    status, location, body = _get(port, page)
    if status != 200 or page.expected not in body:
        raise SystemExit(f"{page.name} ({page.path}) answered {status} {location} without {page.expected!r}")
    return len(body.encode())


def _queries(page: Page) -> int:
    """SQL statements for one request of the page, counted in this process with the same settings."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", headers=page.headers)
    for name, value in page.cookies.items():
        client.cookies[name] = value
    client.get(page.path)  # warm: template and URL caches (and a token's last use, written once a minute)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(page.path)
    assert response.status_code == 200, (page.path, response.status_code)
    return len(captured)


def _start_gunicorn(args, env) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        f"--bind=127.0.0.1:{args.port}",
        f"--workers={args.workers}",
        f"--worker-class={args.worker_class}",
        f"--threads={args.threads}",
        f"--backlog={args.connections * 4}",
        "--log-level=warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if _get(args.port, Page("hello", "/hello/", {}, ""))[0] == 200:
                return server
        except OSError:
            time.sleep(0.2)
    _stop(server)
    raise SystemExit("gunicorn did not answer within 30 s")


def _stop(server: subprocess.Popen) -> None:
    """Stop the gunicorn that we started (its process group: the arbiter and its workers)."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _cpu_seconds(server: subprocess.Popen) -> tuple[float, float]:
    """CPU time used so far by gunicorn's workers and by the PostgreSQL backends of the bench
    database (Linux /proc): what the requests cost, however busy the machine is with other work.
    Backends that a request opens and closes (CONN_MAX_AGE = 0) end uncounted. Returns (the
    workers', the backends')."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name <> %s",
            [BACKGROUND],
        )
        backends = [pid for (pid,) in cursor.fetchall()]
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return _ticks(map(int, children)), _ticks(backends)


def _ticks(pids) -> float:
    """User and system CPU seconds of these processes so far."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a worker or backend that ended meanwhile
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _wrk(args, page: Page, seconds: int, server: subprocess.Popen) -> Result:
    command = [
        "wrk",
        f"--threads={args.wrk_threads}",
        f"--connections={args.connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={LUA}",
    ]
    command += [f"--header={name}: {value}" for name, value in _headers(page).items()]
    command += [f"http://127.0.0.1:{args.port}{page.path}", "--", page.expected]
    workers_before, backends_before = _cpu_seconds(server)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    workers_after, backends_after = _cpu_seconds(server)
    database_cpu = backends_after - backends_before
    cpu = workers_after - workers_before + database_cpu
    data = json.loads(output.strip().splitlines()[-1])
    seconds = data["duration_us"] / 1e6
    requests = max(data["requests"], 1)
    return Result(
        rps=data["requests"] / seconds,
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        wrong=data["wrong"],
        socket_errors=data["socket_errors"],
        cpu_ms=1000 * cpu / requests,
        database_cpu_ms=1000 * database_cpu / requests,
    )


def _drain(port: int) -> None:
    """Wait until the server has answered what wrk left queued (a slow page leaves up to one
    request a connection in the listen backlog), so that the next page starts on an idle server."""
    _get(port, Page("hello", "/hello/", {}, ""), timeout=300)


def _median(results: list[Result]) -> Result:
    """The round with the median requests per second (its latencies come with it)."""
    ranked = sorted(results, key=lambda result: result.rps)
    return ranked[(len(ranked) - 1) // 2]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench load", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per page and round (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per page (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all pages; the median is shown (default 3)")
    parser.add_argument("--connections", type=int, default=20, help="concurrent wrk connections (default 20)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (default sync)")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (default 1)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database", default=LOAD_DATABASE, help=f"made by `bench generate` (default {LOAD_DATABASE})")
    parser.add_argument(
        "--only", nargs="+", help="measure only these pages (hello, my-work, patient, board, api-tasks, reports)"
    )
    parser.add_argument("--session-engine", help="try another SESSION_ENGINE (see bench/settings.py)")
    parser.add_argument(
        "--page-cache-seconds", type=int, help="PAGE_CACHE_SECONDS (0: render My work on every request)"
    )
    parser.add_argument("--conn-max-age", type=int, help="try another CONN_MAX_AGE (production: 60)")
    parser.add_argument(
        "--writes-per-second",
        type=float,
        default=0.0,
        help="task completions a second on other wards during the run (default 0; the sealer runs anyway)",
    )
    args = parser.parse_args(argv)

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    server_url = os.environ.get("DATABASE_URL", "")  # the server's, which the background names its database on
    url = bench_url(args.database)
    if not exists(url):
        raise SystemExit(f"no {args.database} database: run `python -m bench generate` first")
    env = _environment(args, url)
    os.environ.update(env)
    for name in ("BENCH_SESSION_ENGINE", "PAGE_CACHE_SECONDS", "BENCH_CONN_MAX_AGE"):
        if name not in env:
            os.environ.pop(name, None)
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    pages = _pages()
    if args.only:
        pages = [page for page in pages if page.name in args.only or page.name == "hello"]
    queries = {page.name: _queries(page) for page in pages}
    connections.close_all()

    # Beside the pages, as in production: the audit sealer (Celery beat) and, when asked, a writer.
    background = subprocess.Popen(
        [sys.executable, "-m", "bench", "background", f"--database={args.database}",
         f"--writes-per-second={args.writes_per_second}"],
        cwd=ROOT, env={**env, "DATABASE_URL": server_url}, stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    server = _start_gunicorn(args, env)
    try:
        sizes = {page.name: _check(args.port, page) for page in pages}
        for page in pages:
            _wrk(args, page, args.warmup, server)
            _drain(args.port)
        rounds: dict[str, list[Result]] = {page.name: [] for page in pages}
        for _ in range(args.rounds):
            for page in pages:
                rounds[page.name].append(_wrk(args, page, args.duration, server))
                _drain(args.port)
    finally:
        _stop(server)
        _stop(background)
    background_report = background.stdout.read().strip()

    results = {name: _median(runs) for name, runs in rounds.items()}

    # A page's share of hello is taken round by round (hello ran a minute earlier at most), and
    # the median of those shares is shown: a machine shared with other work changes speed.
    def shares_of(baseline: str) -> dict[str, float]:
        return {
            name: statistics.median(
                run.rps / max(base.rps, 1e-9) for run, base in zip(runs, rounds[baseline], strict=True)
            )
            for name, runs in rounds.items()
        }

    shares = shares_of("hello")
    # Beside hello, the share of the floor of a signed-in, audited page (`signed-in`, bench/urls.py)
    # when it ran: what a page costs above the session, the user, the access policy and the read's
    # audit row that every page of patients pays (docs/performance.md, issue 19's tenth look).
    floor_shares = shares_of("signed-in") if "signed-in" in rounds else {}
    print(f"command             python -m bench load {' '.join(argv or [])} (database {args.database})")
    print(
        f"gunicorn            {args.workers} {args.worker_class} workers x {args.threads} thread(s), "
        f"DEBUG={settings.DEBUG}, SESSION_ENGINE={settings.SESSION_ENGINE}, "
        f"cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}, "
        f"PAGE_CACHE_SECONDS={settings.PAGE_CACHE_SECONDS}, "
        f"CONN_MAX_AGE={settings.DATABASES['default']['CONN_MAX_AGE']}"
    )
    print(
        f"wrk                 {args.connections} connections, {args.wrk_threads} thread(s), "
        f"{args.rounds} x {args.duration} s per page (median round shown), {args.warmup} s warm-up"
    )
    print(f"load average        {' '.join(f'{n:.2f}' for n in os.getloadavg())} (1, 5, 15 min) at the end")
    print(background_report)
    print()
    print(
        "| page | requests/s | p50 ms | p95 ms | p99 ms | % of hello | % of signed-in "
        "| server CPU ms/request (% of hello's) | of which PostgreSQL | queries | KB | wrong | rounds (requests/s) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    cpu = {name: max(statistics.median(run.cpu_ms for run in runs), 1e-9) for name, runs in rounds.items()}
    database_cpu = {name: statistics.median(run.database_cpu_ms for run in runs) for name, runs in rounds.items()}
    for page in pages:
        result = results[page.name]
        spread = ", ".join(f"{run.rps:.0f}" for run in rounds[page.name])
        print(
            f"| {page.name} | {result.rps:.0f} | {result.p50_ms:.1f} | {result.p95_ms:.1f} | {result.p99_ms:.1f} "
            f"| {100 * shares[page.name]:.1f} % "
            f"| {f'{100 * floor_shares[page.name]:.0f} %' if floor_shares else '–'} "
            f"| {cpu[page.name]:.2f} ({100 * cpu['hello'] / cpu[page.name]:.1f} %) "
            f"| {database_cpu[page.name]:.2f} | {queries[page.name]} | {sizes[page.name] / 1024:.0f} "
            f"| {sum(run.wrong + run.socket_errors for run in rounds[page.name])} | {spread} |"
        )
    if "my-work" in results:
        mine = results["my-work"]
        met = shares["my-work"] >= 0.06 and mine.p95_ms <= 150
        print()
        print(
            f"My work: {100 * shares['my-work']:.1f} % of hello, p95 {mine.p95_ms:.0f} ms "
            f"(target: at least 6 % and at most 150 ms: {'met' if met else 'not met'})"
        )
