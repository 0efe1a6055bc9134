from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "mesochart.outcomes"
    label = "outcomes"
    verbose_name = "Outcomes: clinical photos"
    default_auto_field = "django.db.models.BigAutoField"
