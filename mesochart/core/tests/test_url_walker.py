"""Walks every URL pattern that takes an id, as someone outside the clinic.

New views are covered without anyone remembering: a pattern whose parameter
has no sample object here fails the test until one is registered.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Parameters that name shared library data (the same for every clinic), not
# clinic records: nothing to hide from other clinics.
LIBRARY_PARAMETERS = {"protocol_id", "zone_id", "product_id", "rule_id"}


def walk(
    resolver: URLResolver, prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry, prefix + str(entry.pattern), ns)
        else:
            yield f"{namespace}{entry.name}", entry


def id_patterns() -> list[tuple[str, URLPattern]]:
    return [(name, p) for name, p in walk(get_resolver()) if p.pattern.converters]


def test_the_walker_finds_the_views_it_must_cover():
    names = {name for name, _ in id_patterns()}
    assert {"patients:chart", "patients:edit", "patients:profile_edit"} <= names


def app_samples(clinic, staff, patient) -> dict[str, Any]:
    """URL parameter -> an object id of ``clinic``, from every app's ``tests/samples.py``.

    An app with views taking ids defines ``url_samples(clinic, staff, patient)`` there,
    returning e.g. ``{"lot_id": lot.pk}``.
    """
    samples: dict[str, Any] = {"patient_id": patient.pk, "clinic_id": clinic.pk}
    for config in apps.get_app_configs():
        if not config.name.startswith("mesochart."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.tests.samples")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.tests.samples":
                raise
            continue
        samples.update(module.url_samples(clinic, staff, patient))
    return samples


def test_outsiders_get_no_200_from_any_view_with_an_object_id(client_as, patient, clinic, staff):
    samples = app_samples(clinic, staff, patient)
    from django.urls import reverse

    checked = 0
    for who in ("outsider", "neighbour"):
        client = client_as(who)
        for name, pattern in id_patterns():
            kwargs = {}
            for parameter in pattern.pattern.converters:
                if parameter in LIBRARY_PARAMETERS:
                    break
                assert parameter in samples, (
                    f"{name}: no sample object for URL parameter {parameter!r}; "
                    "register one in this test so outsiders are checked against it"
                )
                kwargs[parameter] = samples[parameter]
            else:
                url = reverse(name, kwargs=kwargs)
                for method in ("get", "post"):
                    response = getattr(client, method)(url)
                    assert response.status_code in {404, 405}, (
                        f"{who} {method.upper()} {url} -> {response.status_code}"
                    )
                    checked += 1
    assert checked >= 8
