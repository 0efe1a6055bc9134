from django.apps import AppConfig


class LibraryConfig(AppConfig):
    name = "mesochart.library"
    label = "library"
    verbose_name = "Protocol library"
