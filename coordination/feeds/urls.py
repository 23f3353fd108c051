"""Calendar feeds behind a secret, renewable URL (issue 17)."""

from django.urls import path

from . import views

urlpatterns = [
    path("<str:secret>/my-work.ics", views.my_work_feed, name="feed_my_work"),
    path("<str:secret>/unit.ics", views.unit_feed, name="feed_unit"),
    path("renew", views.feed_renew, name="feed_renew"),
]
