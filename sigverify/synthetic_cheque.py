"""Generated cheques: printed bank name, date, payee line, amount box, amount in words, MICR line,
a "Signature" label over its line — and a handwritten signature on that line. Several layouts,
so the page finder is measured on print it must not box (tests, bench/cheques.py)."""

from __future__ import annotations

import cv2
import numpy as np

BANKS = ("NORTHSEA SAVINGS BANK", "Banque Populaire du Nord", "FIRST CITIZENS TRUST", "Raiffeisen Landbank")
PAYEES = ("J. de Vries", "Acme Supplies B.V.", "Mrs P. Bakker", "City of Utrecht")
WORDS = ("Two hundred and fifty euro", "One thousand four hundred euro", "Seventy-five euro and 20 cents")
FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX)


def _text(page, text, org, scale, thickness, font, shade=30) -> None:
    cv2.putText(page, text, (int(org[0]), int(org[1])), font, scale, int(shade), thickness, cv2.LINE_AA)


def make_cheque(signature: np.ndarray, rng: np.random.Generator, layout: int | None = None,
                size: tuple[int, int] = (825, 1800)) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A grey cheque page (uint8) with the signature on its signature line, and the signature's box."""
    height, width = size
    layout = int(rng.integers(0, 4)) if layout is None else layout % 4
    font = FONTS[layout]
    paper = 232 + 14 * np.linspace(0, 1, width)[None, :] * rng.uniform(0.2, 1.0)
    page = np.full((height, width), 255, np.uint8)  # the print, drawn first, then laid on the paper
    left = 60 if layout in (0, 2) else 90
    # header: the bank's name large, its address small (left or centred)
    bank = BANKS[int(rng.integers(len(BANKS)))]
    bank_x = left if layout != 3 else width // 2 - 420
    _text(page, bank, (bank_x, 90), 1.6, 3, font)
    _text(page, "Main Street 1, 1011 AB Amsterdam  -  IBAN NL00 BANK 0123 4567 89", (bank_x, 135), 0.7, 1, font, 60)
    # date top right, with its line
    _text(page, "Date", (width - 560, 200), 0.9, 2, font)
    cv2.line(page, (width - 470, 205), (width - 120, 205), 80.0, 2)
    _text(page, f"{int(rng.integers(1, 28)):02d}-{int(rng.integers(1, 12)):02d}-2026", (width - 440, 195), 1.0, 2,
          font, 45)
    # payee line
    y_pay = 300 if layout != 1 else 330
    _text(page, "Pay to the order of", (left, y_pay), 0.9, 2, font)
    cv2.line(page, (left + 330, y_pay + 5), (width - 520, y_pay + 5), 80.0, 2)
    _text(page, PAYEES[int(rng.integers(len(PAYEES)))], (left + 360, y_pay - 8), 1.1, 2, font, 45)
    # amount box with printed figures
    box_x, box_y = width - 460, y_pay - 55
    cv2.rectangle(page, (box_x, box_y), (width - 100, box_y + 75), 70.0, 2)
    _text(page, f"EUR {int(rng.integers(20, 9000)):,}.{int(rng.integers(0, 99)):02d}", (box_x + 20, box_y + 52),
          1.2, 2, font, 40)
    # amount in words, on its line
    y_words = y_pay + 95
    _text(page, WORDS[int(rng.integers(len(WORDS)))] + " ----------", (left, y_words), 1.0, 2, font, 45)
    cv2.line(page, (left, y_words + 8), (width - 520, y_words + 8), 80.0, 2)
    # memo line
    _text(page, "Memo", (left, height - 230), 0.8, 2, font)
    cv2.line(page, (left + 100, height - 225), (left + 600, height - 225), 80.0, 2)
    # MICR line at the bottom
    micr = f"C{int(rng.integers(100000, 999999))}C A{int(rng.integers(10**8, 10**9))}A {int(rng.integers(1000, 9999))}"
    _text(page, micr, (left + 150, height - 60), 1.3, 2, cv2.FONT_HERSHEY_PLAIN, 25)
    # the signature line with its printed label, the signature on it
    line_y = height - 170 if layout != 2 else height - 190
    line_x0 = width - 780 if layout != 1 else width - 820
    line_x1 = width - 110
    cv2.line(page, (line_x0, line_y), (line_x1, line_y), 70.0, 2)
    _text(page, "Signature", (line_x0, line_y + 38), 0.8, 2, font, 60)
    page = np.minimum(np.broadcast_to(paper, (height, width)), page.astype(np.float32)).astype(np.float32)
    # the ink only, cut to its box: a scan's or photo's own paper and margins stay behind, as a pen
    # on this cheque would leave none
    from sigverify.imaging.preprocess import PreprocessParams, preprocess_with_box

    bx, by, bw, bh = preprocess_with_box(signature, PreprocessParams()).box
    signature = signature[by : by + bh, bx : bx + bw]
    paper_level = max(float(np.percentile(signature, 90)), 1.0)
    sig = np.clip(signature.astype(np.float32) * (255.0 / paper_level), 0, 255).astype(np.uint8)
    limit_w, limit_h = line_x1 - line_x0 - 40, 260
    scale = min(1.0, limit_w / sig.shape[1], limit_h / sig.shape[0])
    if scale < 1.0:
        sig = cv2.resize(sig, (max(1, int(sig.shape[1] * scale)), max(1, int(sig.shape[0] * scale))),
                         interpolation=cv2.INTER_AREA)
    sh, sw = sig.shape
    x = int(rng.integers(line_x0 + 10, max(line_x0 + 11, line_x1 - sw - 10)))
    y = int(line_y - sh + rng.integers(sh // 8, sh // 3 + 1))  # the strokes sit on and across the line
    region = page[y : y + sh, x : x + sw]
    np.minimum(region, sig.astype(np.float32), out=region)
    page += rng.normal(0.0, 3.0, page.shape)
    ink = sig < max(200.0, 255.0 - 0.5 * (255.0 - float(sig.min())))  # a pale pen's strokes too
    ys, xs = np.nonzero(ink)
    truth = (x + int(xs.min()), y + int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
    return np.clip(page, 0, 255).astype(np.uint8), truth


def iou(a, b) -> float:
    """Intersection over union of two (x, y, w, h) boxes (the document path's own measure)."""
    from sigverify.imaging.document import box_iou

    return box_iou(a, b)
