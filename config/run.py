"""`make run`'s processes: the web server, a Celery worker and Celery beat, started together and
stopped together.

Ctrl-C (or SIGTERM, or the terminal closing) asks each of them once to stop (SIGTERM: the worker
finishes the task in hand, which takes it a few seconds) and says so on one line. Each runs in a
session of its own, so that the terminal's Ctrl-C reaches this script only: signalled by the
terminal as well, each would print its own shutdown. Their output goes through here; while they
stop it is held back, and shown only if one of them fails to stop cleanly. If one stops by itself
(say, port 8000 is taken), the others are stopped too and the exit status is 1. Nothing is left
running: a process still there after STOP_SECONDS, or at a second Ctrl-C, is killed with its
children, and if this script is itself killed outright, Linux stops them (PR_SET_PDEATHSIG).

Standard library only, run by the project's Python from the Makefile: `python config/run.py`.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
STOP_SECONDS = 20
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _prctl():
    """Linux's prctl, or None elsewhere."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()


def _stop_with_this_script() -> None:
    """Run in each child before it starts: when this script dies, however it dies (killed with
    SIGKILL by whatever stopped `make run`, before it could stop them), the child gets a SIGTERM.
    Each child leads a session of its own, out of reach of a signal to this script's group."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)


PROCESSES = {
    "the web server": ["manage.py", "runserver", "127.0.0.1:8000", "--noreload"],
    "the Celery worker": ["-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--concurrency=1"],
    "Celery beat": ["-m", "celery", "-A", "config", "beat", "--loglevel=INFO", "--schedule=var/celerybeat-schedule"],
}


class Output:
    """The processes' output, copied line by line to ours; once they are asked to stop, held."""

    def __init__(self):
        self.lock = threading.Lock()
        self.holding = False
        self.held: list[tuple[object, bytes]] = []
        self.threads: dict[str, list[threading.Thread]] = {}

    def relay(self, name: str, process: subprocess.Popen) -> None:
        for source, target in ((process.stdout, sys.stdout.buffer), (process.stderr, sys.stderr.buffer)):
            thread = threading.Thread(target=self._copy, args=(source, target), daemon=True)
            thread.start()
            self.threads.setdefault(name, []).append(thread)

    def _copy(self, source, target) -> None:
        for line in iter(source.readline, b""):
            with self.lock:
                if self.holding:
                    self.held.append((target, line))
                else:
                    _write(target, line)

    def drain(self, name: str) -> None:
        """Wait until what an exited process wrote has been copied."""
        for thread in self.threads.get(name, ()):
            thread.join(timeout=2)

    def hold(self) -> None:
        with self.lock:
            self.holding = True

    def show_held(self) -> None:
        for name in self.threads:
            self.drain(name)
        with self.lock:
            for target, line in self.held:
                _write(target, line)


def _write(target, text: str | bytes) -> None:
    try:
        target.write(text.encode() if isinstance(text, str) else text)
        target.flush()
    except (OSError, ValueError):  # the terminal is gone: nobody to tell
        pass


def _and(names) -> str:
    names = list(names)
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def main() -> int:
    stop_asked = threading.Event()
    force = threading.Event()

    def on_signal(signum, frame):
        if stop_asked.is_set():
            force.set()  # a second Ctrl-C: no more waiting
        stop_asked.set()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    output = Output()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    running: dict[str, subprocess.Popen] = {}
    for name, arguments in PROCESSES.items():
        if stop_asked.is_set():
            break
        running[name] = subprocess.Popen(  # noqa: S603 (our own fixed commands)
            [sys.executable, *arguments],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_stop_with_this_script,  # a prctl call only
        )
        output.relay(name, running[name])

    ended_alone = ""
    while not ended_alone and not stop_asked.wait(0.2):
        ended_alone = next((name for name, process in running.items() if process.poll() is not None), "")

    # Stopping: one line, finished when all have stopped.
    stdout = sys.stdout.buffer
    others = [name for name in running if name != ended_alone]
    if ended_alone:
        output.drain(ended_alone)  # its last words (why it stopped) come first
    output.hold()
    if ended_alone:
        status = running[ended_alone].returncode
        _write(stdout, f"{ended_alone.capitalize()} stopped (exit status {status}): stopping {_and(others)}...")
    else:
        after_ctrl_c = "\n" if sys.stdout.isatty() else ""  # the terminal's ^C ends no line
        _write(stdout, f"{after_ctrl_c}Stopping {_and(others)}...")
    for name in others:
        running[name].send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    killed = []
    for name, process in running.items():
        while process.poll() is None and time.monotonic() < deadline and not force.is_set():
            time.sleep(0.1)
        if process.poll() is None:
            killed.append(name)
        try:  # it, or what it left behind (the worker's pool): each leads a session of its own
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()

    # Asked to stop, Celery exits with 0, the web server dies of the SIGTERM.
    failed = [name for name in others if name not in killed and running[name].returncode not in (0, -signal.SIGTERM)]
    if not killed and not failed:
        _write(stdout, " stopped.\n")
        return 1 if ended_alone else 0
    _write(stdout, "\n")
    output.show_held()
    if killed:
        why = "at the second Ctrl-C" if force.is_set() else f"still running after {STOP_SECONDS} s"
        _write(stdout, f"Killed {_and(killed)}: {why}.\n")
    if failed:
        _write(stdout, f"{_and(failed).capitalize()} stopped with an error (its output is above).\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
