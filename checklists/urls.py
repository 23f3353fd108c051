# Temporary until the template editing pages land: the list goes to the admin's.
from django.urls import path
from django.views.generic import RedirectView

app_name = "checklists"
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:checklists_checklisttemplate_changelist"), name="template_list"),
]
