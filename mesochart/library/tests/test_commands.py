"""The command-line interface, run as a real process through the console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CONTRACT_EXAMPLE = {
    "date": "2026-11-25",
    "protocol": "submental-dca",
    "patient": {"birth_date": "1985-04-02", "sex": "female", "bmi": 24.5},
    "consents": ["treatment"],
    "injections": [
        {
            "zone": "submental",
            "product": "dca-10mg-ml",
            "lot": "K1234",
            "expiry": "2027-06-30",
            "technique": "point",
            "points": 52,
            "volume_ml": 0.2,
            "depth_mm": 6,
            "needle_gauge": 30,
            "needle_length_mm": 13,
        }
    ],
}


def mesochart(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mesochart", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_session_blocks_51_points_with_exit_1(tmp_path: Path):
    path = tmp_path / "session.json"
    path.write_text(json.dumps(CONTRACT_EXAMPLE))
    result = mesochart("check-session", str(path))
    assert result.returncode == 1, result.stderr
    out = json.loads(result.stdout)  # exactly one JSON object on stdout
    assert out["verdict"] == "block"
    codes = {f["code"] for f in out["findings"]}
    assert {"dose.max_points", "dose.max_volume"} <= codes


def test_check_session_reads_standard_input_and_passes_a_clean_session():
    clean = json.loads(json.dumps(CONTRACT_EXAMPLE))
    clean["injections"][0]["points"] = 25
    result = mesochart("check-session", "-", stdin=json.dumps(clean))
    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout)["verdict"] == "ok"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("{not json", "$"),
        (json.dumps({**CONTRACT_EXAMPLE, "protocol": "botox"}), "protocol"),
        (
            json.dumps(
                {
                    **CONTRACT_EXAMPLE,
                    "injections": [{**CONTRACT_EXAMPLE["injections"][0], "volume_ml": "lots"}],
                }
            ),
            "injections[0].volume_ml",
        ),
    ],
)
def test_check_session_bad_input_exits_2_naming_the_field(text, field):
    result = mesochart("check-session", "-", stdin=text)
    assert result.returncode == 2
    assert json.loads(result.stdout)["field"] == field
    assert result.stderr.startswith(field)


def test_check_session_missing_file_exits_2():
    result = mesochart("check-session", "/nonexistent/session.json")
    assert result.returncode == 2
    assert json.loads(result.stdout)["field"] == "$"


def test_protocols_lists_shows_and_prints_json():
    listing = mesochart("protocols")
    assert listing.returncode == 0 and "submental-dca" in listing.stdout
    data = json.loads(mesochart("protocols", "--json").stdout)
    assert len(data) >= 11
    shown = mesochart("protocols", "show", "submental-dca")
    assert shown.returncode == 0 and "Kybella" in shown.stdout
    unknown = mesochart("protocols", "show", "botox")
    assert unknown.returncode == 1 and "botox" in unknown.stderr


def test_plan_course_prints_a_dated_schedule():
    result = mesochart(
        "plan-course", "submental-dca", "--start", "2026-12-01", "--history", "2026-11-01"
    )
    assert result.returncode == 0, result.stderr
    assert "sessions left: 5 of 6" in result.stdout
    assert "2026-12-29" in result.stdout  # next session at the 28-day label minimum
    bad = mesochart("plan-course", "submental-dca", "--start", "1st December")
    assert bad.returncode == 1 and "start: must be a date" in bad.stderr
