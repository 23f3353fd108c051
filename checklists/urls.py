from django.urls import path

from . import views

app_name = "checklists"
urlpatterns = [
    path("", views.template_list, name="template_list"),
    path("<int:pk>/", views.template_detail, name="template_detail"),
    path("<int:pk>/new-draft/", views.draft_new, name="draft_new"),
    path("versions/compare/", views.version_compare, name="version_compare"),
    path("versions/<int:pk>/", views.version_detail, name="version_detail"),
    path("versions/<int:pk>/edit/", views.draft_edit, name="draft_edit"),
    path("versions/<int:pk>/items/new/", views.item_add, name="item_add"),
    path("versions/<int:pk>/review/", views.version_review, name="version_review"),
    path("versions/<int:pk>/discard/", views.version_discard, name="version_discard"),
    path("versions/<int:pk>/preview/", views.version_preview_page, name="version_preview"),
    path("items/<int:pk>/edit/", views.item_edit, name="item_edit"),
    path("items/<int:pk>/delete/", views.item_delete, name="item_delete"),
    path("items/<int:pk>/move/", views.item_move, name="item_move"),
    path("versions/<int:pk>/items/order/", views.editor.items_reorder, name="items_reorder"),
    path("conditions/value/", views.editor.condition_value, name="condition_value"),
    # Template files in and out (checklists.interchange).
    path("import/", views.template_import_page, name="template_import"),
    path("versions/<int:pk>/export.json", views.version_export, name="version_export"),
]
