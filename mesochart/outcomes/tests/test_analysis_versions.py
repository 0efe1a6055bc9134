"""The photo page's overlay of what was measured, and results of earlier algorithm
versions: marked as such, re-analysed only when asked, the earlier result kept."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from mesochart.audit.models import AuditEvent
from mesochart.imaging import ALGORITHM_VERSION
from mesochart.outcomes.models import Photo

from .factories import photo_consent, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def photo(clinic: Any, staff: Any, patient: Any) -> Photo:
    photo_consent(clinic, staff, patient)
    return upload(clinic, staff, patient)


def as_1_0(photo: Photo) -> dict[str, Any]:
    """The photo's result as version 1.0.0 stored it (no eyes_px, no overlay)."""
    old = dict(photo.analysis)
    old["algorithm_version"] = "1.0.0"
    old.pop("overlay", None)
    old["face"] = {k: v for k, v in old["face"].items() if k not in ("eyes_px", "box_px")}
    photo.analysis = old
    photo.save(update_fields=["analysis"])
    return old


def test_the_detail_page_draws_the_face_eyes_and_zones(photo, client_as):
    page = client_as("practitioner").get(reverse("outcomes:detail", args=[photo.pk]))
    html = page.content.decode()
    assert 'id="overlay"' in html and 'viewBox="0 0 512 512"' in html
    assert html.count('class="zone"') == 5 and html.count('class="eye"') == 2
    assert 'class="face-outline"' in html and 'class="face-box"' in html
    assert 'id="outdated"' not in html and ALGORITHM_VERSION in html


def test_a_face_without_eyes_is_drawn_as_a_box_only(photo, client_as):
    analysis = dict(photo.analysis)
    analysis["face"] = {**analysis["face"], "eyes_found": False, "eyes_px": None}
    analysis.pop("overlay")
    analysis["zones"], analysis["whole_face"] = {}, {}
    photo.analysis = analysis
    photo.save(update_fields=["analysis"])
    html = client_as("practitioner").get(reverse("outcomes:detail", args=[photo.pk])).text
    assert 'class="face-box"' in html and 'class="zone"' not in html
    assert 'class="eye"' not in html and "nothing was measured" in html


def test_a_1_0_result_is_marked_and_kept_until_asked(photo, client_as):
    old = as_1_0(photo)
    client = client_as("practitioner")
    html = client.get(reverse("outcomes:detail", args=[photo.pk])).text
    assert 'id="outdated"' in html and "version 1.0.0" in html
    assert reverse("outcomes:reanalyse", args=[photo.pk]) in html
    photo.refresh_from_db()
    assert photo.analysis == old  # viewing never replaces it
    response = client.post(reverse("outcomes:reanalyse", args=[photo.pk]))
    assert response.status_code == 302
    photo.refresh_from_db()
    assert photo.analysis["algorithm_version"] == ALGORITHM_VERSION
    assert photo.previous_analyses == [old]
    assert photo.quality_ok == photo.analysis["quality"]["ok"]
    event = AuditEvent.objects.get(action="photo.reanalyse")
    assert event.details["from_version"] == "1.0.0"
    assert event.details["to_version"] == ALGORITHM_VERSION
    html = client.get(reverse("outcomes:detail", args=[photo.pk])).text
    assert 'id="outdated"' not in html and "1 earlier result kept" in html


def test_reanalysis_needs_post_and_the_photo_permission(photo, client_as):
    as_1_0(photo)
    url = reverse("outcomes:reanalyse", args=[photo.pk])
    assert client_as("practitioner").get(url).status_code == 405
    assert client_as("auditor").post(url).status_code in (403, 404)
    assert client_as("outsider").post(url).status_code == 404
    photo.refresh_from_db()
    assert photo.analysis["algorithm_version"] == "1.0.0" and photo.previous_analyses == []
    html = client_as("auditor").get(reverse("outcomes:detail", args=[photo.pk])).text
    assert 'id="outdated"' in html and url not in html  # marked, but no button without the right
