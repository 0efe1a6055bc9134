from django.urls import path

from . import views

app_name = "care"
urlpatterns = [
    path("consent-templates/", views.template_list, name="template_list"),
    path("consent-templates/new/", views.template_create, name="template_create"),
    path("consent-templates/defaults/", views.template_defaults, name="template_defaults"),
    path("consent-templates/<uuid:template_id>/", views.template_detail, name="template_detail"),
    path(
        "consent-templates/<uuid:template_id>/new-version/",
        views.template_new_version,
        name="template_new_version",
    ),
    path("patients/<uuid:patient_id>/consents/", views.patient_consents, name="patient_consents"),
    path("patients/<uuid:patient_id>/consents/take/", views.consent_take, name="consent_take"),
    path("consents/<uuid:consent_id>/", views.consent_detail, name="consent_detail"),
    path("consents/<uuid:consent_id>/signature.png", views.consent_signature, name="signature"),
    path("consents/<uuid:consent_id>/scan/", views.consent_scan, name="scan"),
    path("consents/<uuid:consent_id>/pdf/", views.consent_pdf, name="pdf"),
    path("consents/<uuid:consent_id>/revoke/", views.consent_revoke, name="revoke"),
]
