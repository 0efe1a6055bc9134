"""Skin metrics of one zone and the photo-quality measures."""

from __future__ import annotations

import math

import cv2
import numpy as np

MIN_ZONE_PIXELS = 50
"""A zone with fewer skin pixels reports its pixel count and nulls."""
TEXTURE_SIGMA_PX = 1.5
"""Texture is the L* detail finer than a Gaussian of this sigma (aligned-frame px)."""
SHADING_SIGMA_D = 0.2
"""Shading (light fall-off, face curvature) is the L*/a* variation broader than a Gaussian
of this sigma, in units of the interocular distance; evenness ignores it."""
EVENNESS_SCALE = 10.0
"""evenness = 100 * exp(-spread / EVENNESS_SCALE), spread in L*/a* units."""


def _gauss(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; wide ones run on a reduced copy (same result within a fraction of a
    percent, many times faster) and are brought back with bilinear interpolation."""
    factor = int(sigma // 4)
    if factor < 2:
        return cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    h, w = img.shape[:2]
    small = cv2.resize(
        img, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA
    )
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def masked_blur(values: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``values`` that only averages pixels inside ``mask``
    (normalised convolution), so the mask's border adds no false detail."""
    m = mask.astype(np.float32)
    num = _gauss(values.astype(np.float32) * m, sigma)
    den = _gauss(m, sigma)
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 1e-6)
    return out


def ita_deg(lightness: float, b: float) -> float:
    """Individual typology angle: atan((L* - 50) / b*) in degrees (atan2 keeps b* = 0 finite)."""
    return math.degrees(math.atan2(lightness - 50.0, b))


class ZoneMaps:
    """Per-pixel maps shared by all zones of one face (computed once)."""

    def __init__(self, lab: np.ndarray, skin: np.ndarray, d: float) -> None:
        self.lab = lab
        self.skin = skin
        lightness, a = lab[..., 0], lab[..., 1]
        # Fine detail from a plain blur; pixels near non-skin are dropped from the texture
        # statistics instead (``inner``), so eyes and hair edges do not count as roughness.
        fine_l = _gauss(lightness, TEXTURE_SIGMA_PX)
        fine_a = _gauss(a, TEXTURE_SIGMA_PX)
        sigma_low = max(TEXTURE_SIGMA_PX * 2.0, SHADING_SIGMA_D * d)
        self.texture = lightness - fine_l
        self.band_l = fine_l - masked_blur(lightness, skin, sigma_low)
        self.band_a = fine_a - masked_blur(a, skin, sigma_low)
        reach = 2 * math.ceil(2 * TEXTURE_SIGMA_PX) + 1
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach))
        self.inner = cv2.erode(skin.astype(np.uint8), kernel) > 0


def zone_metrics(maps: ZoneMaps, zone: np.ndarray) -> dict[str, float | int | None]:
    """pixels, L, a, b, ita_deg, redness, evenness, texture of the skin inside ``zone``."""
    sel = zone & maps.skin
    n = int(sel.sum())
    if n < MIN_ZONE_PIXELS:
        keys = ("L", "a", "b", "ita_deg", "redness", "evenness", "texture")
        return {"pixels": n, **dict.fromkeys(keys)}
    lab = maps.lab[sel].astype(np.float64)
    lightness, a, b = (float(v) for v in lab.mean(axis=0))
    spread = math.sqrt(float(np.var(maps.band_l[sel])) + float(np.var(maps.band_a[sel])))
    inner = sel & maps.inner
    tex_sel = inner if int(inner.sum()) >= MIN_ZONE_PIXELS // 2 else sel
    texture = math.sqrt(float(np.mean(maps.texture[tex_sel].astype(np.float64) ** 2)))
    return {
        "pixels": n,
        "L": round(lightness, 2),
        "a": round(a, 2),
        "b": round(b, 2),
        "ita_deg": round(ita_deg(lightness, b), 1),
        "redness": round(a, 2),
        "evenness": round(100.0 * math.exp(-spread / EVENNESS_SCALE), 1),
        "texture": round(texture, 3),
    }


def sharpness(grey: np.ndarray, mask: np.ndarray) -> float:
    """Variance of the Laplacian (3x3, on 0-255 grey) inside ``mask``."""
    lap = cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F, ksize=1)
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    vals = lap[inner] if inner.any() else lap.ravel()
    return float(np.var(vals.astype(np.float64)))


def exposure(rgb: np.ndarray, mask: np.ndarray | None) -> tuple[float, float, float]:
    """(clipped %, crushed-black %, 95th percentile of luma 0-255) over ``mask`` (or all)."""
    px = rgb[mask] if mask is not None else rgb.reshape(-1, 3)
    if len(px) == 0:
        return 0.0, 0.0, 0.0
    clipped = float(np.mean(px.max(axis=1) >= 254)) * 100.0
    crushed = float(np.mean(px.max(axis=1) <= 5)) * 100.0
    luma = px.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return clipped, crushed, float(np.percentile(luma, 95))
