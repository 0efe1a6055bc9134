from django.apps import AppConfig


class StockConfig(AppConfig):
    name = "mesochart.stock"
    label = "stock"
    verbose_name = "Stock: lots, vials, movements"
