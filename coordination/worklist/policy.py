"""The worklist's own rule: who watches a unit's board. Who may act on a task is the task
policy's (checklists.policy), read from there by the worklist's pages."""

from accounts.models import Role
from accounts.permissions import Ability

VIEW_BOARD = Ability("view_board", "watch the unit board", frozenset({Role.COORDINATOR}))
