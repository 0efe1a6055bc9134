from django.urls import path

from . import views

app_name = "recall"
urlpatterns = [
    path("", views.index, name="index"),
]
