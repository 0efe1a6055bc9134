from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "mesochart.patients"
    label = "patients"
    verbose_name = "Patients and medical profiles"
