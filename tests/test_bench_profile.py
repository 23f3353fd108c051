"""`python -m bench profile --step`: the named functions are timed wherever they are bound."""

import time

from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from bench.profile import _time_steps
from coordination.worklist import task_view
from coordination.worklist.views import my_work

LOCAL_TIME_TEXT = "coordination.worklist.task_view.local_time_text"
SESSION_LOAD = "django.contrib.sessions.backends.db.SessionStore.load"
GET_MODEL_CLASS = "django.contrib.sessions.backends.db.SessionStore.get_model_class"  # a classmethod


def test_a_step_is_timed_where_another_module_imported_it_by_name_and_on_a_class():
    original_text, original_load = task_view.local_time_text, SessionStore.load
    spent, restore = _time_steps([LOCAL_TIME_TEXT, SESSION_LOAD, GET_MODEL_CLASS])
    try:
        # my_work imported the function by name: its own binding is wrapped too.
        assert my_work.local_time_text is task_view.local_time_text is not original_text
        assert SessionStore.load is not original_load
        assert SessionStore.get_model_class().__name__ == "Session"  # still a classmethod
        now, zone = timezone.now(), timezone.get_current_timezone()
        start = time.process_time()
        for _ in range(500):
            my_work.local_time_text(now, zone)
        elapsed = time.process_time() - start
    finally:
        restore()
    assert 0 < spent[LOCAL_TIME_TEXT] <= elapsed
    assert spent[SESSION_LOAD] == 0 and spent[GET_MODEL_CLASS] > 0
    # Every binding is as it was.
    assert my_work.local_time_text is task_view.local_time_text is original_text
    assert SessionStore.load is original_load and isinstance(SessionStore.__dict__["get_model_class"], classmethod)
