#!/usr/bin/env python
"""Benchmark of analyze-photo on a 12-megapixel JPEG against merely decoding it.

Usage: .venv/bin/python bench/bench_imaging.py [--runs 7]

The photo is skimage's astronaut (a real face) upscaled to 4000x4000 (bicubic), its top
4000x3000 kept (face inside, aspect ratio preserved) and encoded as a quality-92 JPEG in a
temporary file. "decode" is Pillow opening and fully decoding that file into a numpy array;
"analysis" is the whole command path ``run_analyze_photo(path)`` (read, SHA-256, decode at
reduced scale, card search, face and eyes, zones, metrics, JSON). Runs alternate; medians.
Target: analysis at most 3x decode. Prints one line.
"""

from __future__ import annotations

import argparse
import json
import statistics
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args, _ = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
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
