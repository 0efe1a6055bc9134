from django.urls import path

from . import views

app_name = "sterility"
urlpatterns = [
    path("", views.index, name="index"),
]
