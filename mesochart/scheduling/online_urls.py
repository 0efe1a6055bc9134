"""The public booking pages (``/book/``): no staff sign-in."""

from django.urls import path

from . import online_views as views

app_name = "booking"
urlpatterns = [
    path("<uuid:clinic_id>/", views.book, name="page"),
    path("<uuid:clinic_id>/sent/", views.sent, name="sent"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("email/<str:token>/", views.confirm_email, name="confirm_email"),
    path("cancel/<str:token>/", views.cancel, name="cancel"),
]
