from django.urls import path

from . import staff_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/code/", views.login_code, name="login_code"),
    path("logout/", views.logout_view, name="logout"),
    path("idle/remaining/", views.idle_remaining, name="idle_remaining"),
    path("idle/keep-alive/", views.idle_keepalive, name="idle_keepalive"),
    path("clinic/<uuid:clinic_id>/switch/", views.switch_clinic, name="switch_clinic"),
    path("set-password/<uidb64>/<token>/", views.set_password, name="set_password"),
    path("me/", views.account, name="account"),
    path("me/password/", views.password_change, name="password_change"),
    path("me/sign-out-elsewhere/", views.sign_out_elsewhere, name="sign_out_elsewhere"),
    path("me/two-factor/", views.two_factor_setup, name="two_factor_setup"),
    path("me/recovery-codes/", views.recovery_codes_new, name="recovery_codes_new"),
    path("staff/", staff_views.staff_list, name="staff_list"),
    path("staff/new/", staff_views.staff_add, name="staff_add"),
    path("staff/two-factor-rule/", staff_views.two_factor_rule, name="two_factor_rule"),
    path("staff/<uuid:user_id>/", staff_views.staff_detail, name="staff_detail"),
    path("staff/<uuid:user_id>/role/", staff_views.staff_role, name="staff_role"),
    path(
        "staff/<uuid:user_id>/role/<int:membership_id>/remove/",
        staff_views.staff_role_remove,
        name="staff_role_remove",
    ),
    path("staff/<uuid:user_id>/deactivate/", staff_views.staff_deactivate, name="staff_deactivate"),
    path("staff/<uuid:user_id>/reactivate/", staff_views.staff_reactivate, name="staff_reactivate"),
    path("staff/<uuid:user_id>/unlock/", staff_views.staff_unlock, name="staff_unlock"),
    path(
        "staff/<uuid:user_id>/password-link/",
        staff_views.staff_password_link,
        name="staff_password_link",
    ),
    path(
        "staff/<uuid:user_id>/two-factor-reset/",
        staff_views.staff_two_factor_reset,
        name="staff_two_factor_reset",
    ),
]
