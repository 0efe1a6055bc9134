from django.urls import path

from . import online_views, views

app_name = "scheduling"
urlpatterns = [
    path("", views.day, name="day"),
    path("week/", views.week, name="week"),
    path("new/", views.book, name="book"),
    path("slots/", views.slots, name="slots"),
    path("manage/", views.manage, name="manage"),
    path("online/", online_views.pending, name="online_pending"),
    path("online/<uuid:booking_id>/<str:action>/", online_views.decide, name="online_decide"),
    path("manage/policy/", views.manage_policy, name="manage_policy"),
    path("manage/default-types/", views.default_types, name="default_types"),
    *(
        path(f"manage/{kind}/", views.manage_add, {"kind": kind}, name=f"manage_add_{kind}")
        for kind in views.RESOURCES
    ),
    path(
        "manage/hours/<int:hours_id>/delete/",
        views.manage_delete,
        {"kind": "hours"},
        name="hours_delete",
    ),
    path(
        "manage/absences/<int:absence_id>/delete/",
        views.manage_delete,
        {"kind": "absences"},
        name="absence_delete",
    ),
    path("<uuid:appointment_id>/", views.detail, name="detail"),
    path("<uuid:appointment_id>/move/", views.move, name="move"),
    path("<uuid:appointment_id>/cancel/", views.cancel, name="cancel"),
    path("<uuid:appointment_id>/status/<str:action>/", views.status, name="status"),
]
