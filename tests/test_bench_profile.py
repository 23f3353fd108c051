"""`python -m bench profile --step`: the named functions are timed wherever they are bound."""

import time

from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from bench.profile import _time_steps
from coordination.worklist import task_view
from coordination.worklist.views import my_work

LOCAL_TIME_TEXT = "coordination.worklist.task_view.local_time_text"
SESSION_LOAD = "django.contrib.sessions.backends.db.SessionStore.load"


def test_a_step_is_timed_where_another_module_imported_it_by_name_and_on_a_class(monkeypatch):
    # monkeypatch puts back whatever _time_steps replaces.
    for module in (my_work, task_view):
        monkeypatch.setattr(module, "local_time_text", module.local_time_text)
    monkeypatch.setattr(SessionStore, "load", SessionStore.load)
    original_text, original_load = task_view.local_time_text, SessionStore.load

    spent = _time_steps([LOCAL_TIME_TEXT, SESSION_LOAD])

    # my_work imported the function by name: its own binding is wrapped too.
    assert my_work.local_time_text is task_view.local_time_text is not original_text
    assert SessionStore.load is not original_load
    now, zone = timezone.now(), timezone.get_current_timezone()
    start = time.process_time()
    for _ in range(500):
        my_work.local_time_text(now, zone)
    elapsed = time.process_time() - start
    assert 0 < spent[LOCAL_TIME_TEXT] <= elapsed
    assert spent[SESSION_LOAD] == 0
