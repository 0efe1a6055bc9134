from django.urls import include, path

urlpatterns = [
    path("", include("mesochart.core.urls")),
    path("accounts/", include("mesochart.accounts.urls")),
    path("patients/", include("mesochart.patients.urls")),
    path("protocols/", include("mesochart.library.urls")),
    path("stock/", include("mesochart.stock.urls")),
    path("sterility/", include("mesochart.sterility.urls")),
    path("recall/", include("mesochart.recall.urls")),
    path("care/", include("mesochart.care.urls")),
    path("outcomes/", include("mesochart.outcomes.urls")),
    path("appointments/", include("mesochart.scheduling.urls")),
    path("book/", include("mesochart.scheduling.online_urls")),
    path("messages/", include("mesochart.messaging.urls")),
]

handler403 = "mesochart.core.errors.forbidden"
handler404 = "mesochart.core.errors.not_found"
