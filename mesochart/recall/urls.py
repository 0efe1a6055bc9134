from django.urls import path

from . import views

app_name = "recall"
urlpatterns = [
    path("", views.index, name="index"),
    path("contact/<uuid:patient_id>/", views.contact, name="contact"),
]
