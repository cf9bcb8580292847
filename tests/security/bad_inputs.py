"""A generated corpus of bad (and oddly valid) inputs, the kinds scanners, phones and attackers produce.

Each entry is (kind, expectation, path); expectation is "refuse" (exit 3 with one clear line) or
"read" (a valid image, however odd: it must be read, whatever the verdict).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from sigverify.synthetic import SyntheticWriter
from tests.helpers import png_header_only


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def make_corpus(folder: Path, seed: int = 5) -> list[tuple[str, str, Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    signature = SyntheticWriter(seed).genuine(rng)  # uint8 gray, ink dark on white
    sig = Image.fromarray(signature)
    png = _encode(sig, "PNG")
    jpeg = _encode(sig.convert("RGB"), "JPEG", quality=90)
    entries: list[tuple[str, str, Path]] = []

    def add(kind: str, expectation: str, name: str, data: bytes | None = None) -> Path:
        path = folder / name
        if data is not None:
            path.write_bytes(data)
        entries.append((kind, expectation, path))
        return path

    add("empty file", "refuse", "empty.png", b"")
    add("truncated PNG", "refuse", "truncated.png", png[: len(png) // 2])
    add("truncated JPEG", "refuse", "truncated.jpg", jpeg[: len(jpeg) // 3])
    add("text named .png", "refuse", "text.png", b"this is not an image\n" * 20)
    add("GIF", "refuse", "image.gif", _encode(sig.convert("P"), "GIF"))
    add("PDF", "refuse", "scan.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    add("HTML", "refuse", "page.png", b"<html><body>signature</body></html>")
    add("ZIP named .png", "refuse", "archive.png", b"PK\x03\x04" + bytes(200))
    add("random bytes named .jpg", "refuse", "random.jpg", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    add("UTF-16 text", "refuse", "utf16.png", "not an image".encode("utf-16"))
    add("PNG with a bad CRC", "refuse", "badcrc.png", png[:29] + b"\x00\x00\x00\x00" + png[33:])
    add("JPEG with garbage after SOI", "refuse", "garbage.jpg", b"\xff\xd8" + bytes(500))
    add("BMP with a bogus header", "refuse", "bogus.bmp", b"BM" + bytes(60))
    add("decompression bomb (30000x30000 PNG)", "refuse", "bomb.png", png_header_only(30000, 30000))
    add("49,000,000x1 PNG", "refuse", "strip49m.png", png_header_only(49_000_000, 1))
    add("7000x7000 16-bit RGBA PNG", "refuse", "rgba16.png", png_header_only(7000, 7000, 16, 6))
    add("10x5000 strip", "refuse", "strip.png", _encode(Image.new("L", (5000, 10), 255), "PNG"))
    add("1x1 image", "refuse", "one.png", _encode(Image.new("L", (1, 1), 0), "PNG"))
    add("blank white page", "refuse", "white.png", _encode(Image.new("L", (600, 300), 255), "PNG"))
    add("blank black page", "refuse", "black.png", _encode(Image.new("L", (600, 300), 0), "PNG"))
    add("blank grey photo with noise", "refuse", "greynoise.png", _encode(Image.fromarray(
        np.clip(rng.normal(128, 5, (300, 600)), 0, 255).astype(np.uint8)), "PNG"))
    speck = np.full((300, 600), 250, np.uint8)
    speck[150:153, 300:303] = 0
    add("a single speck", "refuse", "speck.png", _encode(Image.fromarray(speck), "PNG"))
    line = np.full((300, 600), 250, np.uint8)
    line[200:202, 20:580] = 0
    add("a printed form line only", "refuse", "formline.png", _encode(Image.fromarray(line), "PNG"))
    add("zero-byte TIFF", "refuse", "empty.tif", b"II*\x00")
    multipage = io.BytesIO()
    sig.save(multipage, format="TIFF", save_all=True, append_images=[sig], compression="tiff_deflate")
    tiff = multipage.getvalue()
    add("corrupt TIFF pages", "refuse", "corrupt.tif", tiff[: len(tiff) * 2 // 3] + bytes(64))
    add("nonexistent file", "refuse", "missing.png")
    (folder / "a_directory.png").mkdir(exist_ok=True)
    add("a directory", "refuse", "a_directory.png")
    loop = folder / "loop.png"
    if not loop.is_symlink():
        os.symlink(loop, loop)
    add("symlink loop", "refuse", "loop.png")
    fifo = folder / "fifo.png"
    if not fifo.exists():
        os.mkfifo(fifo)
    add("FIFO", "refuse", "fifo.png")
    entries.append(("/dev/zero", "refuse", Path("/dev/zero")))
    big = folder / "huge.png"
    with open(big, "wb") as handle:  # sparse: 201 MB on paper, nothing on disk
        handle.truncate(201 * 2**20)
    add("a 201 MB file", "refuse", "huge.png")
    unreadable = add("unreadable file (mode 000)", "refuse" if os.geteuid() != 0 else "read", "unreadable.png", png)
    os.chmod(unreadable, 0)
    nan = np.full((120, 300), 1.0, np.float32)
    nan[40:80, 50:250] = np.nan
    add("float TIFF with NaN pixels", "refuse", "nan.tif", _encode(Image.fromarray(nan, mode="F"), "TIFF"))

    # valid, however odd: these must be read
    add("plain PNG", "read", "plain.png", png)
    add("unicode name with spaces", "read", "Ünterschrift Frau Müller.png", png)
    add("CMYK JPEG", "read", "cmyk.jpg", _encode(sig.convert("CMYK"), "JPEG", quality=92))
    add("progressive JPEG", "read", "progressive.jpg", _encode(sig.convert("RGB"), "JPEG", progressive=True))
    rotated = sig.rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 8  # rotated 90 degrees: the reader must turn it back
    add("odd EXIF orientation", "read", "exif.jpg", _encode(rotated.convert("RGB"), "JPEG", exif=exif.tobytes()))
    mpo = io.BytesIO()
    sig.convert("RGB").save(mpo, format="MPO", save_all=True, append_images=[sig.convert("RGB")])
    add("MPO phone JPEG", "read", "phone.jpg", mpo.getvalue())
    add("16-bit grayscale PNG", "read", "gray16.png",
        _encode(Image.fromarray((signature.astype(np.uint16) * 257)), "PNG"))
    rgba = np.zeros((*signature.shape, 4), np.uint8)
    rgba[..., 3] = 255 - signature  # ink opaque, paper transparent
    add("transparent PNG", "read", "transparent.png", _encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    add("multipage TIFF", "read", "multipage.tif", tiff)
    small = cv2.resize(signature, (64, 24), interpolation=cv2.INTER_AREA)
    add("tiny low-resolution crop", "read", "tiny.png", _encode(Image.fromarray(small), "PNG"))
    return entries
