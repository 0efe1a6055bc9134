from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "mesochart.accounts"
    label = "accounts"
    verbose_name = "Organisations, clinics and staff"
