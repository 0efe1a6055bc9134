from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from mesochart.settings import database_from_url, env_bool, env_decimal, env_int


def test_postgres_url_becomes_a_django_database(monkeypatch):
    db = database_from_url("postgres://clinic:s%40cret@db.internal:5433/mesochart")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "mesochart",
        "clinic",
        "s@cret",
        "db.internal",
        "5433",
    )


def test_sqlite_url_and_bad_urls():
    assert database_from_url("sqlite:////tmp/x.sqlite3")["NAME"] == "/tmp/x.sqlite3"
    with pytest.raises(ImproperlyConfigured, match="unsupported scheme"):
        database_from_url("mysql://x/y")
    with pytest.raises(ImproperlyConfigured, match="database name is missing"):
        database_from_url("postgres://localhost")


def test_env_helpers_fail_loudly_on_bad_values(monkeypatch):
    monkeypatch.setenv("X_BOOL", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        env_bool("X_BOOL", False)
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_INT"):
        env_int("X_INT", 1)
    monkeypatch.setenv("X_INT", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("X_INT", 5, minimum=1)
    monkeypatch.setenv("X_DEC", "cold")
    with pytest.raises(ImproperlyConfigured, match="X_DEC"):
        env_decimal("X_DEC", "2.0")
    monkeypatch.setenv("X_BOOL", "yes")
    assert env_bool("X_BOOL", False) is True


def test_debug_is_off_and_private_media_has_no_url():
    from django.conf import settings as live
    from django.urls import Resolver404, resolve

    assert live.DEBUG is False
    assert not str(live.MEDIA_ROOT).startswith(str(live.STATICFILES_DIRS[0]))
    with pytest.raises(Resolver404):
        resolve("/media/photo.jpg")
    with pytest.raises(Resolver404):
        resolve("/private-media/photo.jpg")
