"""Staff pages for the checklist template library, split by screen."""

from .editor import item_add, item_delete, item_edit, item_move
from .interchange import template_import_page, version_export
from .library import (
    draft_edit,
    draft_new,
    template_detail,
    template_list,
    version_compare,
    version_detail,
    version_discard,
)
from .preview import version_preview_page
from .review import version_review

__all__ = [
    "draft_edit",
    "draft_new",
    "item_add",
    "item_delete",
    "item_edit",
    "item_move",
    "template_detail",
    "template_import_page",
    "template_list",
    "version_compare",
    "version_detail",
    "version_discard",
    "version_export",
    "version_preview_page",
    "version_review",
]
