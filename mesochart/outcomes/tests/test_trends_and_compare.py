from __future__ import annotations

import io
import re
from datetime import timedelta

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from mesochart.outcomes import charts, services

from .factories import astronaut_png, photo_consent, upload

pytestmark = pytest.mark.django_db


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def astronaut() -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(astronaut_png())).convert("RGB"))


@pytest.fixture
def consented(clinic, staff, patient):
    return photo_consent(clinic, staff, patient)


def test_line_chart_draws_one_point_per_value_and_marks_the_non_comparable():
    series = [
        charts.Series("forehead", [charts.Point(0, 70.0), charts.Point(30, 71.5, marked=True)]),
        charts.Series("nose", [charts.Point(0, 68.0), charts.Point(30, None)]),
    ]
    svg = charts.line_chart("c1", "L* by zone", "A <test> chart", series, [(0, "d0"), (30, "d30")])
    assert svg.count('<circle class="pt') == 3
    assert svg.count('class="pt marked"') == 1 and "(not comparable)" in svg
    assert svg.count("<polyline") == 1  # nose has one value only
    assert '<title id="c1-title">L* by zone</title>' in svg
    assert "A &lt;test&gt; chart" in svg and 'role="img"' in svg


def test_bar_chart_draws_one_bar_per_row_with_negative_values():
    svg = charts.bar_chart("b", "Rates", "desc", [("a", 2.0), ("<b>", -1.0), ("c", 0.0)])
    assert svg.count('<rect class="bar"') == 3 and "&lt;b&gt;" in svg


def test_trends_page_renders_one_chart_per_metric_with_a_point_per_photo_and_zone(
    clinic, staff, patient, consented, client_as
):
    now = timezone.now()
    upload(clinic, staff, patient, taken_at=now - timedelta(days=60))
    brighter = np.clip(astronaut().astype(int) + 12, 0, 255).astype(np.uint8)
    upload(clinic, staff, patient, png(brighter), taken_at=now - timedelta(days=30))
    dark = png(np.full((400, 400, 3), 5, dtype=np.uint8))  # no face: not comparable
    upload(clinic, staff, patient, dark, taken_at=now)
    page = client_as("auditor").get(reverse("outcomes:trends", args=[patient.pk]) + "?view=front")
    assert page.status_code == 200
    html = page.content.decode()
    metrics = [m for m, _, _ in services.TREND_METRICS]
    for key in metrics:
        svg = re.search(rf'<svg[^>]*id="trend-{key}".*?</svg>', html, re.S)
        assert svg is not None, key
        # two analysable photos x six zones; the faceless photo has no values
        assert svg.group(0).count('<circle class="pt') == 12, key
        assert f'id="trend-{key}-desc"' in svg.group(0)
    assert html.count("<table") == len(metrics)  # a data table for each chart
    assert "Left cheek" in html and "Whole face" in html  # legends and columns name the zones
    assert "cheek_left" not in html and "whole_face" not in html
    assert "not comparable (no face was found" in html


def test_trends_are_hidden_without_photo_consent(clinic, staff, patient, consented, client_as):
    from mesochart.care.services import consents as care_services

    upload(clinic, staff, patient)
    care_services.do_revoke_consent(staff["prescriber"], clinic, consented, "Withdrawn")
    page = client_as("practitioner").get(reverse("outcomes:trends", args=[patient.pk]))
    assert b"1 photo hidden" in page.content and b'class="chart"' not in page.content


def test_alignment_lays_the_follow_up_eyes_on_the_baselines():
    def analysis(mid, dist, roll, w=1000, h=800):
        return {
            "image": {"width": w, "height": h},
            "face": {"eyes_found": True, "eye_midpoint_pct": mid, "eye_distance_pct": dist},
            "quality": {"roll_deg": roll},
        }

    base = analysis([50.0, 40.0], 20.0, 1.0)
    same = services.alignment_transform(base, base)
    assert same is not None and same["scale"] == 1.0 and same["rotate_deg"] == 0.0
    assert "translate(0.000%, 0.000%)" in same["transform"]
    moved = services.alignment_transform(analysis([40.0, 50.0], 10.0, 4.0), base)
    assert moved is not None
    assert moved["scale"] == 2.0 and moved["rotate_deg"] == 3.0
    assert moved["origin"] == "40.000% 50.000%"
    assert "translate(10.000%, -10.000%)" in moved["transform"]
    # another aspect ratio: y is converted through the display heights
    tall = services.alignment_transform(analysis([50.0, 50.0], 20.0, 1.0, 1000, 1000), base)
    assert tall is not None and "translate(0.000%, -18.000%)" in tall["transform"]
    no_eyes = analysis([50.0, 40.0], 20.0, None)
    no_eyes["face"]["eyes_found"] = False
    assert services.alignment_transform(no_eyes, base) is None


def test_compare_page_offers_slider_and_ghost_aligned_on_the_eyes(
    clinic, staff, patient, consented, client_as
):
    upload(clinic, staff, patient, taken_at=timezone.now() - timedelta(days=30))
    rotated = np.asarray(Image.fromarray(astronaut()).rotate(3, resample=Image.BICUBIC))
    later = upload(clinic, staff, patient, png(rotated))
    html = client_as("practitioner").get(reverse("outcomes:compare", args=[later.pk])).content
    html = html.decode()
    assert 'id="verdict"' in html
    assert 'data-compare="slider"' in html and 'data-compare="ghost"' in html
    assert re.search(r'data-transform="translate\([^)]*\) rotate\(-?\d', html)


def test_upload_page_has_the_capture_guide_with_the_baseline_ghost(
    clinic, staff, patient, consented, client_as
):
    base = upload(clinic, staff, patient)
    html = client_as("assistant").get(reverse("outcomes:upload", args=[patient.pk])).content
    html = html.decode()
    assert 'id="capture-video"' in html and 'id="ghost-opacity"' in html
    assert f'data-view="front" src="{reverse("outcomes:image", args=[base.pk])}"' in html
    assert 'capture="user"' in html  # the file-input fallback stays


def test_a_poor_photo_shows_a_clear_retake_message_with_a_retake_link(
    clinic, staff, patient, consented, client_as
):
    dark = upload(clinic, staff, patient, png(np.full((400, 400, 3), 5, dtype=np.uint8)))
    html = client_as("practitioner").get(reverse("outcomes:detail", args=[dark.pk])).content
    html = html.decode()
    assert 'id="retake"' in html and "Retake suggested: no face was found" in html
    assert reverse("outcomes:upload", args=[patient.pk]) + "?view=front" in html
