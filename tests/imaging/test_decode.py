"""Decoding every input kind scanners and phones produce, and refusing every bad one clearly."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from sigverify.errors import BadImageError
from sigverify.imaging.decode import MAX_PIXELS, load_image, page_count
from tests.helpers import png_header_only


def _asymmetric(height=60, width=100) -> np.ndarray:
    """Dark block in the top-left corner of white paper: orientation is visible."""
    img = np.full((height, width), 255, np.uint8)
    img[5:20, 5:30] = 0
    return img


def _save(image: Image.Image, path, **kwargs):
    image.save(path, **kwargs)
    return path


def test_png_grayscale(tmp_path):
    path = _save(Image.fromarray(_asymmetric()), tmp_path / "g.png")
    loaded = load_image(path)
    assert loaded.pixels.shape == (60, 100) and loaded.pixels.dtype == np.uint8
    assert loaded.format == "PNG" and loaded.page_count == 1
    np.testing.assert_array_equal(loaded.pixels, _asymmetric())


def test_rgb_jpeg(tmp_path):
    rgb = np.stack([_asymmetric()] * 3, axis=2)
    path = _save(Image.fromarray(rgb), tmp_path / "c.jpg", quality=95)
    loaded = load_image(path)
    assert loaded.pixels.shape == (60, 100, 3)
    assert loaded.pixels[10, 10].max() < 40 and loaded.pixels[50, 90].min() > 215


def test_jpeg_exif_orientation_is_honoured(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90° clockwise
    path = _save(Image.fromarray(_asymmetric()), tmp_path / "phone.jpg", exif=exif, quality=95)
    pixels = load_image(path).pixels
    assert pixels.shape == (100, 60)
    # the dark block, top-left when stored, is top-right once rotated clockwise
    assert pixels[10, 45] < 60 and pixels[10, 10] > 200


def test_bmp(tmp_path):
    path = _save(Image.fromarray(_asymmetric()), tmp_path / "s.bmp")
    np.testing.assert_array_equal(load_image(path).pixels, _asymmetric())


@pytest.mark.parametrize("mode", ["1", "L", "I;16"])
def test_tiff_bit_depths(tmp_path, mode):
    base = _asymmetric()
    if mode == "1":
        image = Image.fromarray(base).convert("1")
    elif mode == "I;16":
        image = Image.fromarray(base.astype(np.uint16) * 257)
    else:
        image = Image.fromarray(base)
    path = _save(image, tmp_path / f"scan_{mode.replace(';', '')}.tif")
    pixels = load_image(path).pixels
    assert pixels.dtype == np.uint8 and pixels.shape == (60, 100)
    assert pixels[10, 10] == 0 and pixels[50, 90] == 255


def test_multipage_tiff_each_page_selectable(tmp_path):
    pages = [Image.fromarray(np.full((40, 50), value, np.uint8)) for value in (10, 120, 230)]
    path = tmp_path / "batch.tif"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    assert page_count(path) == 3
    assert [int(load_image(path, page=i).pixels.mean()) for i in range(3)] == [10, 120, 230]
    with pytest.raises(BadImageError, match="page 4 requested but the file has 3 page"):
        load_image(path, page=3)


def test_rgba_transparent_background_becomes_paper(tmp_path):
    rgba = np.zeros((60, 100, 4), np.uint8)  # fully transparent black...
    rgba[5:20, 5:30] = (0, 0, 0, 255)  # ...except an opaque ink block
    path = _save(Image.fromarray(rgba, "RGBA"), tmp_path / "t.png")
    pixels = load_image(path).pixels
    assert pixels[50, 90].tolist() == [255, 255, 255]
    assert pixels[10, 10].tolist() == [0, 0, 0]


def test_palette_png(tmp_path):
    image = Image.fromarray(np.stack([_asymmetric()] * 3, axis=2)).convert("P", palette=Image.ADAPTIVE, colors=4)
    path = _save(image, tmp_path / "p.png")
    pixels = load_image(path).pixels
    assert pixels.shape == (60, 100, 3)
    assert pixels[10, 10].max() < 30 and pixels[50, 90].min() > 225


def test_palette_with_transparency(tmp_path):
    image = Image.fromarray(_asymmetric()).convert("P")
    image.info["transparency"] = 255  # white palette entry transparent
    path = _save(image, tmp_path / "pt.png", transparency=255)
    pixels = load_image(path).pixels
    assert pixels[50, 90].min() == 255 and pixels[10, 10].max() == 0


def test_bytes_source(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(_asymmetric()).save(buffer, format="PNG")
    assert load_image(buffer.getvalue()).pixels.shape == (60, 100)


# ---------------------------------------------------------------- bad input, each with its message

def test_missing_file(tmp_path):
    with pytest.raises(BadImageError, match="nope.png: file not found"):
        load_image(tmp_path / "nope.png")


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(BadImageError, match=r"empty.png: the file is empty \(0 bytes\)"):
        load_image(path)


def test_corrupt_bytes(tmp_path, rng):
    path = tmp_path / "corrupt.jpg"
    path.write_bytes(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(BadImageError, match="corrupt.jpg: not an image SigVerify can read"):
        load_image(path)


def test_text_file_renamed_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("Dear customer,\nthis is not a picture.\n")
    with pytest.raises(BadImageError, match="notes.png: not an image SigVerify can read"):
        load_image(path)


@pytest.mark.parametrize("fmt,suffix", [("PNG", "png"), ("JPEG", "jpg")])
def test_truncated_image(tmp_path, rng, fmt, suffix):
    noisy = rng.integers(0, 256, (300, 400), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noisy).save(buffer, format=fmt)
    data = buffer.getvalue()
    path = tmp_path / f"cut.{suffix}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadImageError, match=f"cut.{suffix}: the image data is damaged or truncated"):
        load_image(path)


def test_decompression_bomb_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(30000, 30000))
    assert path.stat().st_size < 2000
    with pytest.raises(BadImageError, match="30000x30000 pixels is larger than the 50 megapixel"):
        load_image(path)
    assert MAX_PIXELS == 50_000_000


def test_unsupported_format(tmp_path):
    path = tmp_path / "anim.gif"
    Image.fromarray(_asymmetric()).save(path)
    with pytest.raises(BadImageError, match="GIF images are not supported"):
        load_image(path)


def test_directory_is_not_an_image(tmp_path):
    with pytest.raises(BadImageError, match="not a file"):
        load_image(tmp_path)
