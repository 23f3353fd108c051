"""Staff pages for the checklist template library, split by screen."""

from .editor import item_add, item_delete, item_edit, item_move
from .library import (
    draft_edit,
    draft_new,
    template_detail,
    template_list,
    version_compare,
    version_detail,
    version_publish,
)
from .preview import version_preview_page

__all__ = [
    "draft_edit",
    "draft_new",
    "item_add",
    "item_delete",
    "item_edit",
    "item_move",
    "template_detail",
    "template_list",
    "version_compare",
    "version_detail",
    "version_preview_page",
    "version_publish",
]
