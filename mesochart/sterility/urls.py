from django.urls import path

from . import views

app_name = "sterility"
urlpatterns = [
    path("", views.index, name="index"),
    path("settings/", views.policy_edit, name="policy"),
    path("sterilisers/new/", views.steriliser_new, name="steriliser_new"),
    path("sterilisers/<uuid:steriliser_id>/", views.steriliser_detail, name="steriliser"),
    path("sterilisers/<uuid:steriliser_id>/edit/", views.steriliser_edit, name="steriliser_edit"),
    path(
        "sterilisers/<uuid:steriliser_id>/bowie-dick/",
        views.bowie_dick_new,
        name="bowie_dick_new",
    ),
    path("sterilisers/<uuid:steriliser_id>/cycles/new/", views.cycle_new, name="cycle_new"),
    path("cycles/", views.cycle_list, name="cycles"),
    path("cycles/<uuid:cycle_id>/", views.cycle_detail, name="cycle"),
    path("cycles/<uuid:cycle_id>/release/", views.cycle_release, name="cycle_release"),
    path("cycles/<uuid:cycle_id>/reject/", views.cycle_reject, name="cycle_reject"),
    path("cycles/<uuid:cycle_id>/bi/", views.cycle_bi, name="cycle_bi"),
    path("cycles/<uuid:cycle_id>/packs/", views.pack_new, name="pack_new"),
    path("cycles/<uuid:cycle_id>/labels/", views.cycle_labels, name="cycle_labels"),
    path("packs/<uuid:pack_id>/", views.pack_detail, name="pack"),
    path("packs/<uuid:pack_id>/label/", views.pack_label, name="pack_label"),
    path("packs/<uuid:pack_id>/use/", views.pack_use, name="pack_use"),
    path("items/", views.item_lots, name="item_lots"),
    path("items/new/", views.item_lot_new, name="item_lot_new"),
    path("items/<uuid:item_lot_id>/", views.item_lot_detail, name="item_lot"),
    path("items/<uuid:item_lot_id>/use/", views.item_use, name="item_use"),
]
