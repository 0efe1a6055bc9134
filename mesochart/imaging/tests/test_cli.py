"""The analyze-photo contract: run_analyze_photo and the console command in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mesochart.imaging import run_analyze_photo

from .helpers import astronaut, encode, rotate
from .test_loading import decompression_bomb, png_header

ROOT = Path(__file__).resolve().parents[3]


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mesochart.settings"}
    return subprocess.run(
        [sys.executable, "-m", "mesochart", "analyze-photo", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def test_analysis_is_deterministic(tmp_path: Path) -> None:
    path = write(tmp_path, "face.jpg", encode(astronaut(), "JPEG", quality=90))
    first, second = run_analyze_photo(path), run_analyze_photo(path)
    assert first == second and first[0] == 0


def test_bad_files_exit_2_with_an_error_and_write_nothing(tmp_path: Path) -> None:
    jpeg = encode(astronaut(), "JPEG")
    bad = {
        "notes.txt": b"not a photo at all\n",
        "cut.jpg": jpeg[: len(jpeg) // 3],
        "empty.png": b"",
        "huge.png": png_header(20000, 20000, 2),
        "bomb.png": decompression_bomb(),
    }
    for name, data in bad.items():
        write(tmp_path, name, data)
    before = sorted(os.listdir(tmp_path))
    for name in bad:
        code, out, err = run_analyze_photo(str(tmp_path / name))
        assert code == 2, name
        assert set(json.loads(out)) == {"error", "code"} and err.endswith("."), name
        assert name in err
    code, out, err = run_analyze_photo(str(tmp_path / "missing.jpg"))
    assert code == 2 and "Cannot read" in json.loads(out)["error"]
    assert sorted(os.listdir(tmp_path)) == before


def test_bad_baseline_exits_2(tmp_path: Path) -> None:
    good = write(tmp_path, "face.png", encode(astronaut()))
    bad = write(tmp_path, "old.png", b"\x89PNG\r\n\x1a\n")
    code, _out, err = run_analyze_photo(good, bad)
    assert code == 2 and err.startswith("Baseline photo")


def test_command_prints_one_json_object_and_exit_codes(tmp_path: Path) -> None:
    photo = write(tmp_path, "face.jpg", encode(astronaut(), "JPEG", quality=92))
    tilted = write(tmp_path, "tilted.png", encode(rotate(astronaut(), 12.0)))
    done = run_cli(photo, "--baseline", tilted)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["face_found"] is True and result["algorithm_version"] == "1.1.0"
    assert result["comparison"]["comparable"] is False
    assert result["comparison"]["problems"] == ["pose"]
    assert result["comparison"]["roll_diff_deg"] < -8
    assert result == json.loads(run_analyze_photo(photo, tilted)[1])

    text = write(tmp_path, "notes.txt", b"hello")
    done = run_cli(text)
    assert done.returncode == 2
    assert json.loads(done.stdout) == {
        "error": f"Photo {text}: The file is not a readable image.",
        "code": "not_an_image",
    }
    assert done.stderr.strip() == f"Photo {text}: The file is not a readable image."


def test_card_flag_without_a_card_reports_it(tmp_path: Path) -> None:
    photo = write(tmp_path, "face.png", encode(astronaut()))
    code, out, _ = run_analyze_photo(photo, None, card=True)
    result = json.loads(out)
    assert code == 0 and result["quality"]["colour_card"] is False
    assert "card_not_found" in result["quality"]["problems"]
