"""Coordinator reports: how a unit is doing, week by week (issue 18)."""

from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.unit_report, name="unit"),
    path("csv/", views.unit_report_csv, name="csv"),
]
