"""In real Chromium: upload a baseline and a follow-up photo of a real face through the
upload page (file-input fallback of the capture guide), see the comparison verdict with
the eye-aligned slider and ghost, and the metric trend charts; and take a photo with the
live camera (Chromium's synthetic device) under the baseline ghost."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from mesochart.conftest import browser_sign_in
from mesochart.outcomes.models import Photo

from .factories import photo_consent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def write_jpeg(path, rgb: np.ndarray) -> str:
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92]
    )
    assert ok
    path.write_bytes(data.tobytes())
    return str(path)


def test_practitioner_uploads_baseline_and_follow_up_and_sees_comparison_and_trends(
    live_server, page, clinic, staff, patient, artifacts, tmp_path
):
    from skimage import data

    face = data.astronaut()
    baseline = write_jpeg(tmp_path / "baseline.jpg", face)
    brighter = np.clip(face.astype(np.int16) + 8, 0, 255).astype(np.uint8)
    follow_up = write_jpeg(tmp_path / "follow-up.jpg", brighter)
    photo_consent(clinic, staff, patient)

    browser_sign_in(page, live_server, "practitioner")

    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    page.click("#photos >> text=Take a photo")
    page.wait_for_selector("#upload-form")
    # no camera in headless Chromium: the file input is the fallback
    page.select_option("#id_view", "front")
    page.set_input_files("#id_photo", baseline)
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/outcomes/photos/[0-9a-f-]{36}/$"))
    assert "Quality OK" in page.content()

    page.goto(f"{live_server.url}/outcomes/patients/{patient.pk}/photos/new/?view=front")
    assert page.locator(".capture-ghost[data-view=front]").count() == 1  # the baseline ghost
    page.set_input_files("#id_photo", follow_up)
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/outcomes/photos/[0-9a-f-]{36}/$"))
    assert Photo.objects.count() == 2

    page.click("text=Compare with baseline")
    page.wait_for_selector("#verdict")
    verdict = page.inner_text("#verdict")
    assert "Comparable with the baseline" in verdict or "Not comparable" in verdict
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.compare-stage img')).every(i => i.naturalWidth > 0)"
    )
    page.fill("#slider-range", "30")
    page.dispatch_event("#slider-range", "input")
    clip = page.eval_on_selector("[data-compare=slider] .over", "e => e.style.clipPath")
    assert clip == "inset(0px 70% 0px 0px)" or clip == "inset(0 70% 0 0)"
    page.screenshot(path=str(artifacts / "outcomes-compare.png"), full_page=True)

    page.click("text=Metric trends of this view")
    page.wait_for_selector("svg#trend-L")
    assert page.locator("svg#trend-L circle.pt").count() == 12  # 2 photos x 6 zones
    assert page.locator("svg.chart").count() == 5
    page.screenshot(path=str(artifacts / "outcomes-trends.png"), full_page=True)


def test_live_camera_capture_with_the_baseline_ghost_uploads_the_frame(
    live_server, page, clinic, staff, patient, artifacts, tmp_path
):
    """Chromium's synthetic camera (a moving test pattern) stands in for the device camera:
    the capture guide shows the baseline as a ghost over the live video, "Capture" puts the
    frame into the upload, and the quality check asks for a retake (no face in the pattern).
    """
    from skimage import data

    baseline = write_jpeg(tmp_path / "baseline.jpg", data.astronaut())
    photo_consent(clinic, staff, patient)
    browser_sign_in(page, live_server, "practitioner")
    page.goto(f"{live_server.url}/outcomes/patients/{patient.pk}/photos/new/?view=front")
    page.select_option("#id_view", "front")
    page.set_input_files("#id_photo", baseline)
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/outcomes/photos/[0-9a-f-]{36}/$"))

    page.goto(f"{live_server.url}/outcomes/patients/{patient.pk}/photos/new/?view=front")
    page.click("#camera-start")
    page.wait_for_selector("#capture-guide:not([hidden])")
    page.wait_for_function("() => document.getElementById('capture-video').videoWidth > 0")
    assert not page.is_visible("#camera-start")
    ghost = page.locator(".capture-ghost[data-view=front]")
    assert ghost.is_visible()
    page.fill("#ghost-opacity", "60")
    page.dispatch_event("#ghost-opacity", "input")
    assert ghost.evaluate("img => img.style.opacity") == "0.6"
    page.click("#capture-shot")
    page.wait_for_function(
        "() => document.getElementById('capture-status').textContent.startsWith('Captured')"
    )
    assert page.evaluate("document.querySelector('#id_photo').files[0].name") == "capture.jpg"
    page.screenshot(path=str(artifacts / "outcomes-live-capture.png"), full_page=True)
    page.click("#upload-form button[type=submit]")
    page.wait_for_load_state()
    captured = Photo.objects.filter(original_filename="capture.jpg").first()
    assert captured is not None and captured.original_format == "JPEG"
    assert not captured.quality_ok and "face" in " ".join(captured.problems)


def test_a_photo_that_cannot_be_analysed_is_refused_beside_the_file_field(
    live_server, page, clinic, staff, patient, tmp_path
):
    from PIL import Image

    sliver = tmp_path / "sliver.png"
    Image.new("RGB", (60000, 1), (128, 128, 128)).save(sliver, format="PNG")
    photo_consent(clinic, staff, patient)
    browser_sign_in(page, live_server, "practitioner")
    page.goto(f"{live_server.url}/outcomes/patients/{patient.pk}/photos/new/?view=front")
    page.set_input_files("#id_photo", str(sliver))
    page.click("#upload-form button[type=submit]")
    error = page.locator("#id_photo-error")
    error.wait_for()
    assert "60000x1" in error.inner_text()
    assert Photo.objects.count() == 0


def test_the_photo_page_overlays_what_was_measured_and_offers_reanalysis_of_old_results(
    live_server, page, clinic, staff, patient
):
    from .factories import upload

    photo_consent(clinic, staff, patient)
    photo = upload(clinic, staff, patient)
    old = dict(photo.analysis)
    old["algorithm_version"] = "1.0.0"
    photo.analysis = old
    photo.save(update_fields=["analysis"])
    browser_sign_in(page, live_server, "practitioner")
    page.goto(f"{live_server.url}/outcomes/photos/{photo.pk}/")
    page.wait_for_function("document.querySelector('#photo-overlay img').naturalWidth > 0")
    image = page.locator("#photo-overlay img").bounding_box()
    svg = page.locator("#overlay").bounding_box()
    assert image and svg
    assert abs(image["width"] - svg["width"]) < 1.5 and abs(image["height"] - svg["height"]) < 1.5
    assert abs(image["x"] - svg["x"]) < 1.5 and abs(image["y"] - svg["y"]) < 1.5
    assert page.locator("#overlay polygon.zone").count() == 5
    assert page.locator("#overlay circle.eye").count() == 2
    assert "1.0.0" in page.inner_text("#outdated")
    page.click("#outdated button[type=submit]")
    page.wait_for_selector("#previous")
    assert page.locator("#outdated").count() == 0
    photo.refresh_from_db()
    assert photo.analysis["algorithm_version"] == "1.1.0" and len(photo.previous_analyses) == 1
