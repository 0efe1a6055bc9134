from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("idle/remaining/", views.idle_remaining, name="idle_remaining"),
    path("idle/keep-alive/", views.idle_keepalive, name="idle_keepalive"),
    path("clinic/<uuid:clinic_id>/switch/", views.switch_clinic, name="switch_clinic"),
]
