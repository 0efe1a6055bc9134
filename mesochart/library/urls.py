from django.urls import path

from . import views

app_name = "library"
urlpatterns = [
    path("", views.index, name="index"),
    path("zones/", views.zones, name="zones"),
    path("products/", views.products, name="products"),
    path("rules/", views.rules, name="rules"),
    path("settings/", views.clinic_settings, name="settings"),
    path("settings/tune/", views.tune, name="tune"),
    path("settings/reset/", views.reset, name="reset"),
    path("<slug:protocol_id>/", views.protocol_detail, name="protocol"),
]
