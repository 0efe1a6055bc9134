"""The Today page: the stock alerts card, sessions today, and a constant query budget."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mesochart.conftest import ROLES
from mesochart.protocols import load_library
from mesochart.stock import services as stock
from mesochart.stock.models import Lot

pytestmark = pytest.mark.django_db

STOCK_VIEW = {"prescriber", "practitioner", "assistant", "manager", "auditor"}
VITAMINS = load_library().products["ha-nonxl-vitamins"].name


def receive(clinic: Any, actor: Any, lot_number: str, days: int, **kw: Any) -> Lot:
    data: dict[str, Any] = {
        "product": "ha-nonxl-vitamins",
        "quantity": Decimal("10"),
        "unit": "syringe",
        "storage": "room",
    }
    data.update(kw)
    expiry = clinic.today() + timedelta(days=days)
    return stock.do_receive_lot(actor, clinic, lot_number=lot_number, expiry=expiry, **data)


def receive_expired(clinic: Any, actor: Any, lot_number: str, **kw: Any) -> Lot:
    """A lot received ten days ago that expired three days ago, stock still on the shelf."""
    with time_machine.travel(timezone.now() - timedelta(days=10), tick=False):
        return receive(clinic, actor, lot_number, 7, **kw)


def card(client: Any) -> str:
    body = client.get(reverse("core:dashboard")).content.decode()
    assert 'id="stock-alerts"' in body
    return body.split('id="stock-alerts"')[1].split("</section>")[0]


def one_of_each(clinic: Any, manager: Any, suffix: str = "") -> dict[str, Lot]:
    lots = {
        "expired": receive_expired(clinic, manager, f"OLD{suffix}"),
        "expiring": receive(clinic, manager, f"SOON{suffix}", 5),
        "quarantined": receive(clinic, manager, f"HELD{suffix}", 90, product="ha-skin-booster"),
    }
    stock.do_quarantine_lot(manager, clinic, lots["quarantined"], "Warm on arrival")
    receive(clinic, manager, f"FINE{suffix}", 200)
    return lots


@pytest.mark.parametrize("role", ROLES)
def test_only_roles_that_see_stock_get_the_stock_card(client_as: Any, role: str) -> None:
    body = client_as(role).get(reverse("core:dashboard")).content.decode()
    assert ('id="stock-alerts"' in body) == (role in STOCK_VIEW)
    assert "once stock is tracked" not in body  # the old placeholder


def test_stock_card_counts_and_links_each_kind_by_product_name(
    client_as: Any, clinic: Any, staff: Any
) -> None:
    lots = one_of_each(clinic, staff["manager"])
    stock.do_set_threshold(staff["manager"], clinic, "ha-nonxl-vitamins", Decimal("50"))
    html = card(client_as("practitioner"))
    assert "1 expired lot still on the shelf" in html
    assert "1 lot expiring within 30 days" in html
    assert "1 quarantined lot" in html
    assert "1 product below its low-stock level" in html
    for lot in lots.values():
        assert reverse("stock:lot_detail", args=[lot.pk]) in html
        assert f"lot {lot.lot_number}" in html
    assert "FINE" not in html
    assert VITAMINS in html and "ha-nonxl-vitamins" not in html
    assert "ha-skin-booster" not in html
    soon = lots["expiring"]
    assert f"expires {soon.expiry:%Y-%m-%d} · 10 syringe on hand" in html
    assert f"expired {lots['expired'].expiry:%Y-%m-%d}" in html
    assert "20 usable, level 50" in html  # SOON and FINE; OLD has expired
    assert f'href="{reverse("stock:index")}"' in html
    assert "No stock alert" not in html


def test_stock_card_shows_the_first_three_lots_and_counts_the_rest(
    client_as: Any, clinic: Any, staff: Any
) -> None:
    for day in range(1, 6):
        receive(clinic, staff["manager"], f"E-{day}", day)
    html = card(client_as("assistant"))
    assert "5 lots expiring within 30 days" in html
    assert "lot E-1" in html and "lot E-3" in html and "lot E-4" not in html
    assert f'href="{reverse("stock:index")}#expiring">and 2 more' in html


def test_stock_card_says_no_stock_alert_when_all_is_well(
    client_as: Any, clinic: Any, staff: Any
) -> None:
    receive(clinic, staff["manager"], "FINE", 200)
    stock.do_set_threshold(staff["manager"], clinic, "ha-nonxl-vitamins", Decimal("5"))
    html = card(client_as("auditor"))
    assert "No stock alert." in html and "FINE" not in html


def test_another_clinics_stock_never_reaches_the_card(
    client_as: Any, other_clinic: Any, outsider: Any
) -> None:
    receive(other_clinic, outsider, "THEIRS", 5)
    html = card(client_as("manager"))
    assert "THEIRS" not in html and "No stock alert." in html


def test_dashboard_has_a_constant_query_budget(client_as: Any, clinic: Any, staff: Any) -> None:
    client = client_as("manager")  # sees stock, follow-ups and cluster alerts
    one_of_each(clinic, staff["manager"])
    stock.do_set_threshold(staff["manager"], clinic, "ha-nonxl-vitamins", Decimal("500"))
    client.get(reverse("core:dashboard"))  # warm the session and the library caches
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("core:dashboard"))
    for i in range(6):
        one_of_each(clinic, staff["manager"], suffix=f"-{i}")
    stock.do_set_threshold(staff["manager"], clinic, "ha-skin-booster", Decimal("500"))
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("core:dashboard"))
    assert len(many.captured_queries) == len(few.captured_queries)
    assert "7 lots expiring within 30 days" in response.content.decode()


def test_a_role_without_stock_runs_no_stock_query(client_as: Any, clinic: Any, staff: Any) -> None:
    one_of_each(clinic, staff["manager"])
    with CaptureQueriesContext(connection) as ctx:
        client_as("reception").get(reverse("core:dashboard"))
    assert not [q for q in ctx.captured_queries if "stock_" in q["sql"]]


def test_dashboard_patients_card_costs_the_same_for_5_or_200_patients_and_caps_the_count(
    client_as: Any, clinic: Any, staff: Any, other_clinic: Any, monkeypatch: Any
) -> None:
    from mesochart.conftest import create_patient
    from mesochart.core import views

    client = client_as("reception")
    for i in range(5):
        create_patient(clinic, staff["reception"], family_name=f"Few{i}")
    client.get(reverse("core:dashboard"))
    with CaptureQueriesContext(connection) as few:
        response = client.get(reverse("core:dashboard"))
    assert '<p class="bignum">5</p>' in response.content.decode()
    for i in range(195):
        create_patient(clinic, staff["reception"], family_name=f"Many{i}")
    create_patient(other_clinic, staff["reception"], family_name="Elsewhere")
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("core:dashboard"))
    assert len(many.captured_queries) == len(few.captured_queries)
    counts = [q["sql"] for q in many.captured_queries if "COUNT(" in q["sql"]]
    assert counts and not [q for q in counts if "patients_patient" in q and "ORDER BY" in q]
    page = response.content.decode()
    assert '<p class="bignum">200</p>' in page and "Elsewhere" not in page
    monkeypatch.setattr(views, "PATIENT_COUNT_CAP", 150)
    page = client.get(reverse("core:dashboard")).content.decode()
    assert '<p class="bignum">more than 150</p>' in page


def test_recently_updated_patients_are_read_from_the_clinic_updated_index(clinic: Any) -> None:
    from mesochart.patients.models import Patient

    query = Patient.objects.filter(clinic=clinic).order_by("-updated_at")[:8]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
        plan = query.explain()
    assert "patient_clinic_updated_idx" in plan
