#!/usr/bin/env python
"""Benchmarks of photo analysis: a 12-megapixel JPEG against merely decoding it, and the
memory and time one upload of a 60-megapixel (7745x7745) RGBA PNG takes.

Usage: .venv/bin/python bench/bench_imaging.py [--runs 7] [--png-runs 3]

The photo is skimage's astronaut (a real face) upscaled to 4000x4000 (bicubic), its top
4000x3000 kept (face inside, aspect ratio preserved) and encoded as a quality-92 JPEG in a
temporary file. "decode" is Pillow opening and fully decoding that file into a numpy array;
"analysis" is the whole command path ``run_analyze_photo(path)`` (read, SHA-256, decode at
reduced scale, card search, face and eyes, zones, metrics, JSON). Runs alternate; medians.
Target: analysis at most 3x decode.

The PNG (7745x7745 RGBA, opaque, flat colour with a darker square: about 250 KB, the size
of the file that once took 30 s and 3.6 GB) goes through what a photo upload does
(``load_for_analysis``, ``analyze_image``, ``jpeg_copy`` for the display copy), each run in
a fresh Python process so that its peak resident memory (``ru_maxrss``, less the same
process's memory after imports) belongs to that upload alone. Prints one line per case.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mesochart.imaging import run_analyze_photo


def make_photo(path: Path) -> None:
    big = Image.fromarray(data.astronaut()).resize((4000, 4000), Image.Resampling.BICUBIC)
    big.crop((0, 0, 4000, 3000)).save(path, "JPEG", quality=92)


def decode(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        im.load()
        return np.asarray(im)


# Peak memory from /proc/self/status VmHWM (Linux): ru_maxrss would carry over the
# parent's high-water mark across fork and exec.
UPLOAD_CHILD = """
import sys, time
from mesochart.imaging import analyze_image, jpeg_copy, load_for_analysis
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
data = open(sys.argv[1], "rb").read()
base = hwm()
t0 = time.perf_counter()
loaded = load_for_analysis(data)
analyze_image(loaded)
jpeg_copy(loaded, 1600)
elapsed = time.perf_counter() - t0
print(elapsed, hwm() - base, base)
"""


def make_big_png(path: Path) -> None:
    rgba = np.zeros((7745, 7745, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[..., 3] = 255
    rgba[1000:3000, 1000:3000, 0] = 30
    Image.fromarray(rgba, "RGBA").save(path, optimize=True)


def bench_big_png(tmp: str, runs: int) -> None:
    path = Path(tmp) / "rgba-7745.png"
    make_big_png(path)
    root = str(Path(__file__).resolve().parents[1])
    times, peaks = [], []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", UPLOAD_CHILD, str(path)],
            capture_output=True,
            text=True,
            check=True,
            cwd=root,
        )
        elapsed, peak, base = (float(v) for v in done.stdout.split())
        times.append(elapsed)
        peaks.append(peak)
    print(
        f"photo upload 7745x7745 RGBA PNG ({path.stat().st_size / 1e3:.0f} KB): "
        f"{statistics.median(times):.2f} s, peak memory {max(peaks):.0f} MB above the "
        f"{base:.0f} MB of the process after imports (median time, largest peak of {runs})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--png-runs", type=int, default=3)
    args, _ = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_big_png(tmp, args.png_runs)

        path = Path(tmp) / "astronaut-12mp.jpg"
        make_photo(path)
        code, out, err = run_analyze_photo(str(path))  # warm-up (cascades, imports)
        if code != 0 or not json.loads(out)["face_found"]:
            print(f"analyze-photo failed: exit {code} {err}", file=sys.stderr)
            return 1
        decode(path)
        t_decode, t_analyse = [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            decode(path)
            t1 = time.perf_counter()
            run_analyze_photo(str(path))
            t2 = time.perf_counter()
            t_decode.append(t1 - t0)
            t_analyse.append(t2 - t1)
        size = path.stat().st_size
    dec, ana = statistics.median(t_decode), statistics.median(t_analyse)
    print(
        f"analyze-photo 4000x3000 JPEG ({size / 1e6:.1f} MB): analysis {ana * 1000:.0f} ms, "
        f"decode {dec * 1000:.0f} ms, ratio {ana / dec:.2f}x (target <= 3x; median of "
        f"{args.runs})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
