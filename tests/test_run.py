"""`make run`'s processes (config/run.py): Ctrl-C stops them all, with one line and nothing left
running. The web server, worker and beat are played by small stand-ins that behave as they do on
a signal; the terminal's Ctrl-C is a SIGINT to the script's process group, as the terminal sends it.
"""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")

# The script, with stand-ins for its processes (each is run as `python <arguments>`).
LAUNCH = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("run", sys.argv[1])
run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)
run.PROCESSES = json.loads(sys.argv[2])
run.STOP_SECONDS = float(sys.argv[3])
sys.exit(run.main())
"""

# Like runserver: dies of SIGTERM without a word.
WEB = "import os, time; print('web up', os.getpid(), flush=True); time.sleep(60)"
# Like the Celery worker: a pool process of its own, and a shutdown that it announces (and, at a
# Ctrl-C of its own, would announce twice), then exit 0.
WORKER = """
import os, signal, subprocess, sys, time
pool = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
def stop(signum, frame):
    print("worker: Warm shutdown (MainProcess)", flush=True)
    time.sleep(0.3)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
print("worker up", os.getpid(), pool.pid, flush=True)
time.sleep(60)
"""
# A process that does not stop when asked.
STUBBORN = """
import os, signal, time
signal.signal(signal.SIGTERM, lambda *args: print("stubborn: not now", flush=True))
print("stubborn up", os.getpid(), flush=True)
time.sleep(60)
"""
# Like runserver on a port that is taken.
QUITTER = "import time; time.sleep(0.5); print('Error: That port is already in use.', flush=True); raise SystemExit(3)"


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


class Run:
    """config/run.py in a session of its own (the terminal's foreground group), its output read
    line by line."""

    def __init__(self, processes: dict[str, str], stop_seconds: float = 5):
        arguments = json.dumps({name: ["-c", code] for name, code in processes.items()})
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", LAUNCH, str(ROOT / "config" / "run.py"), arguments, str(stop_seconds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, *words: str, timeout: float = 10) -> list[str]:
        """The lines up to the one holding `words`, which each name's stand-in prints when up."""
        deadline = time.monotonic() + timeout
        while not any(all(word in line for word in words) for line in self.seen):
            self.seen.append(self.lines.get(timeout=max(deadline - time.monotonic(), 0.01)))
        return self.seen

    def pids(self) -> list[int]:
        return [int(word) for line in self.seen if " up " in line for word in line.split() if word.isdigit()]

    def ctrl_c(self):
        os.killpg(self.process.pid, signal.SIGINT)

    def finish(self, timeout: float = 15) -> tuple[int, list[str]]:
        code = self.process.wait(timeout=timeout)
        time.sleep(0.2)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code, self.seen


def test_ctrl_c_stops_every_process_with_one_line_and_leaves_none_running():
    run = Run({"the web server": WEB, "the Celery worker": WORKER, "Celery beat": WEB.replace("web", "beat")})
    for name in ("web up", "worker up", "beat up"):
        run.wait_for(name)
    pids = run.pids()
    assert len(pids) == 4  # the worker's pool process too
    start = time.monotonic()
    run.ctrl_c()
    code, lines = run.finish()
    assert code == 0
    said = [line for line in lines if " up " not in line]
    assert said == ["Stopping the web server, the Celery worker and Celery beat... stopped.\n"]
    assert time.monotonic() - start < 5
    assert not [pid for pid in pids if alive(pid)]


def test_a_process_that_does_not_stop_is_killed_and_its_output_shown():
    run = Run({"the web server": WEB, "the stubborn one": STUBBORN}, stop_seconds=1)
    run.wait_for("web up")
    run.wait_for("stubborn up")
    pids = run.pids()
    run.ctrl_c()
    code, lines = run.finish()
    assert code == 1
    assert "stubborn: not now\n" in lines
    assert lines[-1] == "Killed the stubborn one: still running after 1.0 s.\n"
    assert not [pid for pid in pids if alive(pid)]


def test_when_one_process_stops_by_itself_the_others_are_stopped_and_the_exit_says_so():
    run = Run({"the web server": QUITTER, "the Celery worker": WORKER})
    run.wait_for("worker up")
    pids = run.pids()
    code, lines = run.finish()
    assert code == 1
    said = "".join(lines)
    assert "Error: That port is already in use.\n" in said
    assert said.endswith("The web server stopped (exit status 3): stopping the Celery worker... stopped.\n")
    assert "Warm shutdown" not in said
    assert not [pid for pid in pids if alive(pid)]


def test_killed_outright_the_script_takes_its_processes_with_it():
    """What stops `make run` from outside may SIGKILL it before it has stopped them (newcomer-check
    does: TERM, then KILL two seconds later): they must not stay up, holding port 8000."""
    run = Run({"the web server": WEB, "the Celery worker": WORKER})
    run.wait_for("web up")
    run.wait_for("worker up")
    web, worker, _pool = run.pids()
    os.killpg(run.process.pid, signal.SIGKILL)
    run.process.wait(timeout=5)
    # Within 20 s: without PR_SET_PDEATHSIG they would live their whole minute, and a loaded machine
    # (a fresh clone's suite beside a benchmark) once took more than 5 s to run the worker's handler.
    deadline = time.monotonic() + 20
    while (alive(web) or alive(worker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(web) and not alive(worker)
