from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from mesochart.imaging import (
    MAX_PIXELS,
    ImageError,
    analyze_bytes,
    derived_jpeg,
    load_image,
    verify_image,
)
from mesochart.imaging.loading import decode_cost, open_image

from .helpers import astronaut, decompression_bomb, encode, png_chunk, png_header


def code_of(data: bytes) -> str:
    with pytest.raises(ImageError) as info:
        load_image(data)
    return info.value.code


def test_png_jpeg_webp_decode_to_rgb8_with_sha256_of_the_bytes() -> None:
    for fmt in ("PNG", "JPEG", "WEBP"):
        data = encode(astronaut(), fmt)
        loaded = load_image(data)
        assert loaded.rgb.shape == (512, 512, 3) and loaded.rgb.dtype == np.uint8
        assert (loaded.width, loaded.height, loaded.format) == (512, 512, fmt)
        assert loaded.sha256 == hashlib.sha256(data).hexdigest()


def test_empty_file_is_refused() -> None:
    assert code_of(b"") == "empty"


def test_text_file_is_not_an_image() -> None:
    assert code_of(b"patient: Jane Doe\nnot a photo\n") == "not_an_image"


def test_truncated_jpeg_is_refused() -> None:
    data = encode(astronaut(), "JPEG", quality=90)
    assert code_of(data[: len(data) // 2]) == "truncated"


def test_png_header_claiming_20000_by_20000_is_refused_before_decoding() -> None:
    assert code_of(png_header(20000, 20000, 2)) == "too_large"


def test_decompression_bomb_over_60_megapixels_is_refused() -> None:
    bomb = decompression_bomb()
    assert len(bomb) < 200_000 and MAX_PIXELS < 8000 * 8000
    assert code_of(bomb) == "too_large"


def test_other_formats_are_refused() -> None:
    assert code_of(encode(astronaut(), "GIF")) == "unsupported_format"
    assert code_of(encode(astronaut(), "BMP")) == "unsupported_format"


def test_exif_orientation_is_applied() -> None:
    upright = astronaut()[:, :400]  # 512 high, 400 wide
    stored = np.rot90(upright, 1)  # as a camera held sideways stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    data = encode(stored, "JPEG", quality=95, exif=exif.tobytes())
    loaded = load_image(data)
    assert (loaded.width, loaded.height) == (400, 512)
    assert np.abs(loaded.rgb.astype(int) - upright.astype(int)).mean() < 4


def test_cmyk_jpeg_sixteen_bit_png_and_alpha_are_converted() -> None:
    buf = io.BytesIO()
    Image.fromarray(astronaut()).convert("CMYK").save(buf, "JPEG", quality=95)
    cmyk = load_image(buf.getvalue())
    assert cmyk.rgb.shape == (512, 512, 3)
    assert abs(float(cmyk.rgb.mean()) - float(astronaut().mean())) < 5

    grey16 = (astronaut().mean(axis=2) * 257).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(grey16).save(buf, "PNG")
    sixteen = load_image(buf.getvalue())
    assert sixteen.rgb.dtype == np.uint8
    assert abs(int(sixteen.rgb.max()) - int(grey16.max() // 257)) <= 1

    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[:5, :, :] = (200, 10, 10, 255)  # opaque red top, transparent bottom
    alpha = load_image(encode(rgba))
    assert tuple(alpha.rgb[0, 0]) == (200, 10, 10)
    assert tuple(alpha.rgb[9, 9]) == (255, 255, 255)


def test_draft_decode_keeps_full_size_and_reports_scale() -> None:
    big = np.asarray(Image.fromarray(astronaut()).resize((2048, 2048)))
    loaded = load_image(encode(big, "JPEG"), draft_long_side=1000)
    assert (loaded.width, loaded.height) == (2048, 2048)
    assert loaded.rgb.shape[0] >= 1000 and loaded.scale == loaded.rgb.shape[1] / 2048


def test_derived_jpeg_strips_exif_and_applies_orientation() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "CameraMaker"
    exif[0x8825] = {1: "N"}  # a GPS block
    data = encode(np.rot90(astronaut()[:, :400], 1), "JPEG", exif=exif.tobytes())
    copy = derived_jpeg(data, max_long_side=256)
    out = Image.open(io.BytesIO(copy))
    assert out.format == "JPEG" and out.size == (200, 256)
    assert len(out.getexif()) == 0 and "exif" not in out.info
    assert b"CameraMaker" not in copy


def test_derived_jpeg_refuses_what_load_refuses() -> None:
    with pytest.raises(ImageError):
        derived_jpeg(b"\xff\xd8\xff")


def test_a_sliver_of_60000_by_1_pixels_is_refused_not_crashed() -> None:
    sliver = encode(np.full((1, 60000, 3), 128, np.uint8))
    with pytest.raises(ImageError) as info:
        analyze_bytes(sliver)
    assert info.value.code == "bad_shape" and "60000x1" in info.value.message
    assert code_of(encode(np.full((4, 4, 3), 128, np.uint8))) == "bad_shape"


def test_a_narrow_but_sensible_image_is_analysed() -> None:
    assert analyze_bytes(encode(np.full((8, 80, 3), 128, np.uint8)))["face_found"] is False


def test_a_decode_over_the_memory_budget_is_refused_before_decoding() -> None:
    rgba = encode(np.full((2000, 2000, 4), 200, np.uint8))  # 16 MB decoded
    with pytest.raises(ImageError) as info:
        load_image(rgba, memory_budget=8 * 1024 * 1024)
    assert info.value.code == "over_memory_budget"
    assert "2000x2000" in info.value.message and "limit is 8 MB" in info.value.message
    assert load_image(rgba, memory_budget=64 * 1024 * 1024).rgb.shape == (2000, 2000, 3)


def test_a_large_png_is_decoded_once_and_reduced_in_eight_bits() -> None:
    rgba = np.full((4100, 4100, 4), 255, np.uint8)
    rgba[:, :, :3] = (180, 120, 100)
    rgba[:2000, :, 3] = 0  # transparent top: white after compositing
    loaded = load_image(encode(rgba), draft_long_side=2000)
    assert (loaded.width, loaded.height) == (4100, 4100)
    assert loaded.rgb.shape == (2050, 2050, 3) and loaded.rgb.dtype == np.uint8
    assert loaded.scale == 0.5
    assert tuple(loaded.rgb[0, 0]) == (255, 255, 255)
    assert tuple(loaded.rgb[-1, -1]) == (180, 120, 100)


def test_the_cost_of_a_60_megapixel_rgba_png_stays_within_the_default_budget() -> None:
    im = open_image(png_header(7745, 7745, 6) + png_chunk(b"IDAT", b""))  # RGBA, header only
    cost = decode_cost(im, 2000)
    assert 7745 * 7745 * 4 < cost < 300 * 1024 * 1024


def test_verify_decodes_the_whole_file() -> None:
    data = encode(astronaut(), "JPEG", quality=90)
    assert verify_image(data) == ("JPEG", 512, 512)
    for half in (data[: len(data) // 2], encode(astronaut())[:-4000]):
        with pytest.raises(ImageError) as info:
            verify_image(half)
        assert info.value.code == "truncated"


def test_verify_refuses_a_bomb_from_its_header() -> None:
    with pytest.raises(ImageError) as info:
        verify_image(decompression_bomb())
    assert info.value.code == "too_large"
    with pytest.raises(ImageError) as info:
        verify_image(decompression_bomb(3000, 3000), max_pixels=4_000_000)
    assert info.value.code == "too_large"
