from django.urls import path

from . import views

app_name = "outcomes"
urlpatterns = [
    path("patients/<uuid:patient_id>/photos/", views.timeline, name="timeline"),
    path("patients/<uuid:patient_id>/photos/new/", views.upload, name="upload"),
    path("photos/<uuid:photo_id>/", views.detail, name="detail"),
    path("photos/<uuid:photo_id>/compare/", views.compare, name="compare"),
    path("photos/<uuid:photo_id>/image.jpg", views.image, name="image"),
    path("photos/<uuid:photo_id>/original/", views.original, name="original"),
]
