"""The worklist: the work of each person and each unit on the record and the checklist engine.

- My work (the home page): my tasks, my role's unclaimed pool on my care teams, and the
  completions waiting for my independent check, with claim, complete, skip, verify and undo in
  place; kept rendered while nothing it shows changes (`page_cache`);
- the patient page (the plan, its events' gates, the history) and the event page (checklists by
  section and role, the gate and its override, the bag);
- the unit board (coordinators): events not ready, overdue tasks, reassignment.

The package has the shape of every coordination package:
- policy.py: who watches a unit's board;
- selectors.py: the reads of these pages, with their relations loaded (a constant number of queries);
- forms.py: a task row's forms (written out without widget templates), the gate override, the
  reassignment, My work's filters;
- task_view.py: what a user may do with each task on a page, asked of the task policy once per row;
- views/: the pages (templates/coordination/worklist/).
It has no models or services of its own: tasks, their actions and who may take them are the
checklist engine's (checklists.models, checklists.services, checklists.policy).
"""
