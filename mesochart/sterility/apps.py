from django.apps import AppConfig


class SterilityConfig(AppConfig):
    name = "mesochart.sterility"
    label = "sterility"
    verbose_name = "Sterility: sterilisers, cycles, packs"
