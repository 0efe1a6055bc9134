from django.urls import path

from . import views

app_name = "stock"
urlpatterns = [
    path("", views.index, name="index"),
    path("thresholds/", views.threshold, name="threshold"),
    path("fefo/", views.fefo, name="fefo"),
    path("lots/", views.lot_list, name="lot_list"),
    path("lots/receive/", views.receive, name="receive"),
    path("lots/<uuid:lot_id>/", views.lot_detail, name="lot_detail"),
    path("lots/<uuid:lot_id>/open/", views.lot_open, name="lot_open"),
    path("lots/<uuid:lot_id>/waste/", views.lot_waste, name="lot_waste"),
    path("lots/<uuid:lot_id>/adjust/", views.lot_adjust, name="lot_adjust"),
    path(
        "lots/<uuid:lot_id>/quarantine/",
        views.lot_status,
        {"action": "quarantine"},
        name="lot_quarantine",
    ),
    path(
        "lots/<uuid:lot_id>/release/", views.lot_status, {"action": "release"}, name="lot_release"
    ),
    path("lots/<uuid:lot_id>/recall/", views.lot_status, {"action": "recall"}, name="lot_recall"),
    path("containers/<uuid:container_id>/", views.container_detail, name="container_detail"),
    path("fridges/", views.fridge_list, name="fridge_list"),
    path("fridges/<uuid:fridge_id>/", views.fridge_detail, name="fridge_detail"),
    path("fridges/<uuid:fridge_id>/readings/", views.fridge_reading, name="fridge_reading"),
    path("fridges/<uuid:fridge_id>/upload/", views.fridge_upload, name="fridge_upload"),
]
