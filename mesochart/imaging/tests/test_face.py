"""Face location 1.1: the shipped models, the highest-scoring face, no guessed zones."""

from __future__ import annotations

import hashlib
from typing import Any

import cv2
import numpy as np
import pytest

from mesochart.imaging import compare_results, landmarks
from mesochart.imaging.face import locate_face

from .helpers import analyse, astronaut, astronaut_result

MODEL_SHA256 = {
    "face_detection_short_range.tflite": (
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"
    ),
    "face_landmark.tflite": "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
}


def test_the_shipped_models_match_their_recorded_checksums() -> None:
    provenance = (landmarks.MODELS / "PROVENANCE.md").read_text()
    assert "Apache License" in (landmarks.MODELS / "LICENSE").read_text()[:200]
    for name, digest in MODEL_SHA256.items():
        data = (landmarks.MODELS / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name
        assert digest in provenance and name in provenance


def two_faces() -> np.ndarray:
    """A large and a smaller copy of the same real face side by side."""
    canvas = np.full((512, 1000, 3), 120, np.uint8)
    face = astronaut()
    canvas[:, 488:1000] = face
    canvas[77:435, 40:398] = cv2.resize(face, (358, 358), interpolation=cv2.INTER_AREA)
    return canvas


def test_detections_come_best_score_first() -> None:
    canvas = two_faces()
    found = landmarks.detect_faces(canvas)
    assert len(found) == 2
    assert found[0].score >= found[1].score


def test_the_highest_scoring_face_is_chosen_not_the_largest(monkeypatch: Any) -> None:
    canvas = two_faces()
    found = landmarks.detect_faces(canvas)
    small, large = sorted(found, key=lambda d: d.box[2])
    surer_small = landmarks.Detection(0.99, small.box, small.right_eye, small.left_eye)
    monkeypatch.setattr(landmarks, "detect_faces", lambda rgb: [surer_small, large])
    geometry = locate_face(canvas)
    assert geometry is not None and geometry.score == 0.99
    assert geometry.box[0] < 400  # the small face on the left, not the large one


def test_low_confidence_detections_are_discarded() -> None:
    noise = np.random.default_rng(7).integers(0, 256, (512, 512, 3), dtype=np.uint8)
    assert all(d.score >= landmarks.MIN_FACE_SCORE for d in landmarks.detect_faces(noise))
    assert analyse(noise)["face_found"] is False


@pytest.fixture
def mesh_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    astronaut_result()  # the cached reference is computed with the real model
    real = landmarks.face_landmarks

    def unsure(rgb: np.ndarray, detection: landmarks.Detection) -> landmarks.Landmarks:
        marks = real(rgb, detection)
        return landmarks.Landmarks(marks.points, 0.1, detection)

    monkeypatch.setattr(landmarks, "face_landmarks", unsure)


def test_a_face_whose_eyes_are_not_found_gets_no_zones_and_no_roll(mesh_refuses: Any) -> None:
    out = analyse(astronaut())
    assert out["face_found"] is True
    face, quality = out["face"], out["quality"]
    assert face["eyes_found"] is False and face["eyes_px"] is None
    assert len(face["box_px"]) == 4 and face["detector"]
    assert quality["roll_deg"] is None and quality["ok"] is False
    assert "eyes_not_found" in quality["problems"]
    assert out["zones"] == {} and out["whole_face"] == {}
    comparison = compare_results(out, astronaut_result())
    assert comparison["comparable"] is False and "pose" in comparison["problems"]
    assert comparison["deltas"] == {}
    back = compare_results(astronaut_result(), out)
    assert back["comparable"] is False and "pose" in back["problems"]


def test_the_1_1_face_fields() -> None:
    out = astronaut_result()
    assert out["algorithm_version"] == "1.1.0"
    face = out["face"]
    x, y, w, h = face["box_px"]
    (rx, ry), (lx, ly) = face["eyes_px"]["right"], face["eyes_px"]["left"]
    assert x < rx < lx < x + w and y < ry < y + h and y < ly < y + h  # right eye = image left
    assert "BlazeFace" in face["detector"]
    assert out["overlay"]["zones_px"].keys() == out["zones"].keys()
    assert len(out["overlay"]["face_outline_px"]) == len(landmarks.FACE_OVAL)


def test_a_comparison_with_a_1_0_result_says_so() -> None:
    old = {**astronaut_result(), "algorithm_version": "1.0.0"}
    comparison = compare_results(astronaut_result(), old)
    assert "1.0.0" in comparison["note_versions"]
