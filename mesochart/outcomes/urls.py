from django.urls import path

from . import views

app_name = "outcomes"
urlpatterns = [
    path("patients/<uuid:patient_id>/photos/", views.timeline, name="timeline"),
    path("patients/<uuid:patient_id>/photos/new/", views.upload, name="upload"),
    path("patients/<uuid:patient_id>/trends/", views.trends, name="trends"),
    path("patients/<uuid:patient_id>/", views.patient_outcomes, name="patient_outcomes"),
    path("patients/<uuid:patient_id>/scores/new/", views.score_new, name="score_new"),
    path(
        "patients/<uuid:patient_id>/adverse-events/new/",
        views.adverse_event_new,
        name="adverse_event_new",
    ),
    path("adverse-events/<uuid:event_id>/", views.adverse_event, name="adverse_event"),
    path(
        "adverse-events/<uuid:event_id>/culture/",
        views.adverse_event_culture,
        name="adverse_event_culture",
    ),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<uuid:alert_id>/", views.alert, name="alert"),
    path("reports/", views.report_index, name="reports"),
    path("reports/export.csv", views.report_csv, name="report_csv"),
    path("photos/<uuid:photo_id>/", views.detail, name="detail"),
    path("photos/<uuid:photo_id>/compare/", views.compare, name="compare"),
    path("photos/<uuid:photo_id>/reanalyse/", views.reanalyse, name="reanalyse"),
    path("photos/<uuid:photo_id>/image.jpg", views.image, name="image"),
    path("photos/<uuid:photo_id>/original/", views.original, name="original"),
]
