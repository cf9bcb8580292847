"""Generated bank documents with what real ones carry, to measure the document path (bench/documents.py,
tests): cheques of several layouts, deposit slips and forms; colour security backgrounds (guilloche
bands, tints, a microprint signature line); printed labels and field lines the strokes touch;
blue, black and violet pens; rubber stamps (round and rectangular, violet, blue, red, black, grey)
over part of the signature; a handwritten date and amount nearby; joint cheques with two signatures.
Then captured as a bank would: 300-dpi colour, 200-dpi grey, 200/240-dpi black-and-white clearing
images (TIFF G4 too), JPEG, rotated scans and phone photos.

Drawing is subtractive, as ink on paper is: every layer multiplies the light the paper reflects
(transmittance per RGB channel), so a stamp over a stroke darkens it as it would on a real cheque.
The truth box of each signature travels with the page through every geometric change.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import cv2
import numpy as np

#: pens at full density, as RGB reflectance (0 = all light absorbed)
PENS = {"black": (0.10, 0.10, 0.12), "blue": (0.10, 0.16, 0.50), "violet": (0.33, 0.14, 0.50)}
#: stamp pads; scanned stamp ink is lighter than a pen's stroke and never quite even
STAMPS = {"violet": (0.55, 0.30, 0.72), "blue": (0.35, 0.48, 0.85), "red": (0.85, 0.22, 0.25),
          "black": (0.18, 0.18, 0.18), "grey": (0.45, 0.45, 0.45)}
#: security backgrounds: light tints and guilloche colours
TINTS = ((0.80, 0.93, 0.85), (0.85, 0.88, 0.97), (0.97, 0.86, 0.90), (0.96, 0.93, 0.80), (0.88, 0.84, 0.96))
BANKS = ("NORTHSEA SAVINGS BANK", "Banque Populaire du Nord", "FIRST CITIZENS TRUST", "Raiffeisen Landbank",
         "Handelsbank Utrecht", "CREDIT MUTUEL DE L'EST")
PAYEES = ("J. de Vries", "Acme Supplies B.V.", "Mrs P. Bakker", "City of Utrecht", "K. Okafor", "Dr. A. Rahman")
FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX)
DPI = 300  # documents are drawn at 300 dpi, then captured at the condition's resolution


@dataclass(frozen=True)
class Condition:
    """How a document is made and captured."""

    name: str
    kind: str = "cheque"              # cheque, slip, form, or joint (two signatures)
    security: bool = False            # colour security background
    stamp: str | None = None          # a stamp colour, or None
    capture: str = "colour"           # colour, grey, bitonal, photo
    dpi: int = 300
    jpeg: tuple[int, int] | None = None  # quality drawn from this range
    rotate: float = 0.0               # degrees, drawn in ±rotate
    g4: bool = False                  # bitonal stored as TIFF Group 4 (as clearing archives hold them)
    label_touching: bool = False      # the signature sits low, its strokes across the printed label


#: the conditions bench/documents.py measures, one per row of its table
CONDITIONS = {c.name: c for c in (
    Condition("grey 300 dpi", capture="grey"),
    Condition("colour 300 dpi, blue or violet pen", capture="colour"),
    Condition("label touching the strokes", capture="grey", label_touching=True),
    Condition("deposit slip / form", kind="slip", capture="grey"),
    Condition("grey 200 dpi", capture="grey", dpi=200),
    Condition("clearing 200 dpi black-and-white", capture="bitonal", dpi=200),
    Condition("clearing 240 dpi TIFF G4", capture="bitonal", dpi=240, g4=True),
    Condition("JPEG quality 50-90", capture="colour", jpeg=(50, 90)),
    Condition("rotated ±3°", capture="grey", rotate=3.0),
    Condition("security paper, colour", security=True, capture="colour"),
    Condition("coloured stamp over the signature", security=True, stamp="colour", capture="colour"),
    Condition("black or grey stamp over the signature", stamp="dark", capture="colour"),
    Condition("phone photo", capture="photo", security=True),
)}
JOINT = Condition("joint cheque, two signatures", kind="joint", capture="grey")


@dataclass
class Document:
    """A captured document: its pixels (uint8 grey or RGB, or TIFF bytes), the truth boxes of its
    signatures in the captured image, and what was done to it."""

    pixels: np.ndarray | None
    truth: list[tuple[int, int, int, int]]
    data: bytes | None = None          # an encoded file (TIFF G4) instead of pixels
    notes: dict = field(default_factory=dict)


def ink_alpha(signature: np.ndarray) -> np.ndarray:
    """How much ink each pixel of a clean signature scan holds (0 paper .. 1 the darkest stroke), cut to
    the ink's box: only the ink preprocessing itself keeps (kept_ink_darkness), so the document carries the same
    signature the clean crop gives the model, and the scan's own paper stays behind: a phone photo's
    shaded, mottled paper (arabic_photos) had come along as a grey patch whose mottle the page's ink
    analysis took for strokes crossing the signature line."""
    from sigverify.imaging.preprocess import PreprocessParams, kept_ink_darkness

    ink, _ = kept_ink_darkness(signature, PreprocessParams())
    strokes = ink[ink > 0]
    darkest = float(np.percentile(strokes, 99.5)) if strokes.size else 1.0
    return np.clip(ink / max(darkest, 1e-3), 0.0, 1.0).astype(np.float32)


def _lay(page: np.ndarray, alpha: np.ndarray, colour, x: int, y: int) -> None:
    """Multiply ink of ``colour`` at strength ``alpha`` into ``page`` (H, W, 3 reflectance) at (x, y)."""
    h, w = alpha.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(page.shape[1], x + w), min(page.shape[0], y + h)
    if x1 <= x0 or y1 <= y0:
        return
    a = alpha[y0 - y : y1 - y, x0 - x : x1 - x, None]
    page[y0:y1, x0:x1] *= 1.0 - a * (1.0 - np.asarray(colour, np.float32))


def _print_layer(shape) -> np.ndarray:
    """A layer to draw on (OpenCV draws text on 8-bit images only): 255 = ink at full strength."""
    return np.zeros(shape, np.uint8)


def _strength(value: float) -> int:
    return int(round(255 * value))


def _text(layer, text, org, scale, thickness, font, strength=1.0) -> None:
    cv2.putText(layer, text, (int(org[0]), int(org[1])), font, scale, _strength(strength), thickness, cv2.LINE_AA)


def _security_background(page: np.ndarray, rng: np.random.Generator) -> None:
    """A light tint with guilloche bands (interleaved sine curves) and a pantograph texture."""
    h, w = page.shape[:2]
    tint = np.asarray(TINTS[int(rng.integers(len(TINTS)))], np.float32)
    ramp = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :, None]
    page *= 1.0 - (0.35 + 0.4 * ramp) * (1.0 - tint)
    lines = _print_layer((h, w))
    xs = np.arange(0, w, 3, dtype=np.float32)
    for band in range(int(rng.integers(2, 4))):
        centre = rng.uniform(0.2, 0.8) * h
        amplitude, period = rng.uniform(0.05, 0.15) * h, rng.uniform(120, 400)
        for k in range(int(rng.integers(8, 16))):
            phase = k * 2 * np.pi / 12
            ys = centre + amplitude * np.sin(2 * np.pi * xs / period + phase) * np.cos(np.pi * xs / (3 * period) + band)
            cv2.polylines(lines, [np.stack([xs, ys], 1).astype(np.int32)], False, 255, 1, cv2.LINE_AA)
    colour = np.clip(tint - rng.uniform(0.08, 0.2), 0, 1)
    _lay(page, 0.7 / 255 * lines.astype(np.float32), colour, 0, 0)
    # pantograph: a fine dot screen
    dots = (rng.random((h, w)) < 0.04).astype(np.float32) * 0.4
    _lay(page, cv2.GaussianBlur(dots, (3, 3), 0.6), colour, 0, 0)


def _microprint(layer, x0: int, x1: int, y: int) -> None:
    """A signature line printed as tiny repeated text (a security feature): a line to the eye."""
    text = ("AUTHORISED SIGNATURE " * 40)
    cv2.putText(layer, text, (x0, y), cv2.FONT_HERSHEY_PLAIN, 0.55, 230, 1, cv2.LINE_AA)
    layer[:, x1:] = layer[:, x1:] * (np.arange(layer.shape[0])[:, None] < y - 12)  # cut the text at the line's end


def _stamp(rng: np.random.Generator, size: int) -> np.ndarray:
    """A rubber stamp's ink (alpha, 0..1): round with text around its ring, or rectangular, with
    uneven ink and a slight turn."""
    canvas = _print_layer((size, size))
    c = size // 2
    round_stamp = rng.random() < 0.5
    font = cv2.FONT_HERSHEY_DUPLEX
    words = ("PAID", "RECEIVED", "CLEARED", "VERIFIED")[int(rng.integers(4))]
    date = f"{int(rng.integers(1, 28)):02d} NOV 2026"
    if round_stamp:
        r = int(size * 0.46)
        cv2.circle(canvas, (c, c), r, 255, max(3, size // 70), cv2.LINE_AA)
        cv2.circle(canvas, (c, c), int(r * 0.72), 255, max(2, size // 110), cv2.LINE_AA)
        ring = "* NORTHSEA SAVINGS BANK * BRANCH 042 "
        for i, ch in enumerate(ring):
            angle = 2 * np.pi * i / len(ring) - np.pi / 2
            px, py = c + 0.86 * r * np.cos(angle), c + 0.86 * r * np.sin(angle)
            cv2.putText(canvas, ch, (int(px - size * 0.02), int(py + size * 0.02)), font, size / 420, 255,
                        max(1, size // 160), cv2.LINE_AA)
        cv2.putText(canvas, words, (int(c - size * 0.24), c), font, size / 300, 255, max(2, size // 110), cv2.LINE_AA)
        cv2.putText(canvas, date, (int(c - size * 0.22), int(c + size * 0.12)), font, size / 520, 255,
                    max(1, size // 160), cv2.LINE_AA)
    else:
        top, bottom = int(size * 0.28), int(size * 0.72)
        cv2.rectangle(canvas, (int(size * 0.04), top), (int(size * 0.96), bottom), 255, max(3, size // 70))
        cv2.rectangle(canvas, (int(size * 0.07), top + size // 30), (int(size * 0.93), bottom - size // 30), 1.0,
                      max(1, size // 160))
        cv2.putText(canvas, words, (int(size * 0.14), c), font, size / 230, 255, max(3, size // 80), cv2.LINE_AA)
        cv2.putText(canvas, date, (int(size * 0.22), int(c + size * 0.14)), font, size / 420, 255,
                    max(1, size // 130), cv2.LINE_AA)
    turn = cv2.getRotationMatrix2D((c, c), float(rng.uniform(-25, 25)), 1.0)
    canvas = cv2.warpAffine(canvas, turn, (size, size)).astype(np.float32) / 255.0
    mottle = cv2.GaussianBlur(rng.random((size, size)).astype(np.float32), (0, 0), 3)
    mottle = (mottle - mottle.min()) / max(float(np.ptp(mottle)), 1e-6)
    return np.clip(canvas * (0.55 + 0.45 * mottle), 0, 1)


def _handwritten(text: str, layer: np.ndarray, org, scale: float, rng) -> None:
    """Handwriting near the signature (date, amount in figures): a script face in the pen's ink."""
    cv2.putText(layer, text, (int(org[0]), int(org[1])), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, scale,
                _strength(rng.uniform(0.75, 0.95)), 2, cv2.LINE_AA)


def _fit_signature(alpha: np.ndarray, width: int, height: int, rng) -> np.ndarray:
    """A signature at a size a pen makes on a 300-dpi document: 1.6-2.6 inches wide, within its field."""
    target_w = rng.uniform(480, 780)
    scale = min(target_w / alpha.shape[1], height / alpha.shape[0], width / alpha.shape[1])
    size = (max(1, int(alpha.shape[1] * scale)), max(1, int(alpha.shape[0] * scale)))
    return cv2.resize(alpha, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC).clip(0, 1)


def make_document(signatures: list[np.ndarray], condition: Condition, rng: np.random.Generator,
                  pen: str | None = None) -> Document:
    """A document with the given clean signature scans on its signature line(s), captured as the
    condition says (one signature, two on a joint cheque)."""
    kind = condition.kind
    height, width = (1000, 2100) if kind != "slip" else (1100, 2400)
    paper = np.asarray((0.97, 0.965, 0.95), np.float32) * rng.uniform(0.93, 1.0)
    page = np.ones((height, width, 3), np.float32) * paper
    if condition.security:
        _security_background(page, rng)
    printed = _print_layer((height, width))  # black print
    font = FONTS[int(rng.integers(len(FONTS)))]
    left = int(rng.integers(50, 110))
    bank = BANKS[int(rng.integers(len(BANKS)))]
    _text(printed, bank, (left, 95), 1.5, 3, font, 0.9)
    _text(printed, "Main Street 1, 1011 AB Amsterdam - IBAN NL00 BANK 0123 4567 89", (left, 140), 0.65, 1, font, 0.75)
    if kind == "slip":
        _text(printed, "DEPOSIT SLIP", (width - 520, 95), 1.3, 3, font, 0.9)
        for i, label in enumerate(("Account holder", "Account number", "Cash", "Cheques", "Total")):
            y = 250 + 105 * i
            _text(printed, label, (left, y), 0.9, 2, font, 0.85)
            cv2.line(printed, (left + 330, y + 6), (width - 900, y + 6), _strength(0.7), 2)
            cv2.rectangle(printed, (width - 760, y - 45), (width - 120, y + 20), _strength(0.6), 2)
    else:
        _text(printed, "Date", (width - 620, 215), 0.9, 2, font, 0.9)
        cv2.line(printed, (width - 530, 220), (width - 130, 220), _strength(0.7), 2)
        y_pay = int(rng.integers(300, 350))
        _text(printed, "Pay to the order of", (left, y_pay), 0.9, 2, font, 0.9)
        cv2.line(printed, (left + 330, y_pay + 6), (width - 560, y_pay + 6), _strength(0.7), 2)
        _text(printed, PAYEES[int(rng.integers(len(PAYEES)))], (left + 360, y_pay - 10), 1.1, 2, font, 0.8)
        box_x, box_y = width - 480, y_pay - 58
        cv2.rectangle(printed, (box_x, box_y), (width - 110, box_y + 78), _strength(0.7), 2)
        _text(printed, "EUR", (box_x + 12, box_y + 50), 0.9, 2, font, 0.85)
        y_words = y_pay + 100
        _text(printed, "Amount in words", (left, y_words), 0.8, 2, font, 0.85)
        cv2.line(printed, (left + 300, y_words + 8), (width - 560, y_words + 8), _strength(0.7), 2)
        _text(printed, "Memo", (left, height - 250), 0.8, 2, font, 0.85)
        cv2.line(printed, (left + 100, height - 244), (left + 620, height - 244), _strength(0.7), 2)
    micr = f"C{int(rng.integers(100000, 999999))}C A{int(rng.integers(10**8, 10**9))}A {int(rng.integers(1000, 9999))}"
    _text(printed, micr, (left + 150, height - 50), 1.3, 2, cv2.FONT_HERSHEY_PLAIN, 0.95)

    pen = pen or (("blue", "violet", "black")[int(rng.integers(3))] if condition.capture != "grey" else
                  ("blue", "black")[int(rng.integers(2))])
    handwriting = _print_layer((height, width))
    # handwriting beside the signature: the date and the amount in figures, in the same pen
    if kind != "slip":
        _handwritten(f"{int(rng.integers(1, 28))}/{int(rng.integers(1, 12))}/26", handwriting, (width - 500, 205), 1.4, rng)
        _handwritten(f"{int(rng.integers(20, 9000))},-", handwriting, (width - 380, y_pay - 5), 1.6, rng)
    else:
        _handwritten(f"{int(rng.integers(20, 900))},00", handwriting, (width - 700, 250 + 105 * 2), 1.5, rng)

    pen_alpha = handwriting.astype(np.float32) / 255.0
    fields = ([(width - 900, width - 110)] if kind != "joint" else [(width - 1720, width - 1000), (width - 860, width - 110)])
    line_y = height - 175 - int(rng.integers(0, 30))
    truths_alpha = []
    for (x0, x1), signature in zip(fields, signatures):
        if condition.security and rng.random() < 0.5:
            _microprint(printed, x0, x1, line_y)
        else:
            cv2.line(printed, (x0, line_y), (x1, line_y), _strength(0.75), 2)
        label = ("Signature", "Authorised signature", "Signature(s)", "Handtekening")[int(rng.integers(4))]
        _text(printed, label, (x0 + int(rng.integers(0, 60)), line_y + 38), 0.8, 2, font, 0.8)
        alpha = _fit_signature(ink_alpha(signature), x1 - x0 - 30, 300, rng)
        sh, sw = alpha.shape
        x = int(rng.integers(x0 + 5, max(x0 + 6, x1 - sw - 5)))
        # the strokes sit on and across the line; with a touching label they reach well below it
        below = rng.uniform(0.3, 0.45) if condition.label_touching else rng.uniform(0.1, 0.3)
        y = int(line_y - sh + below * sh)
        layer = np.zeros((height, width), np.float32)
        layer[max(0, y): y + sh, x: x + sw] = alpha[max(0, -y):, : width - x]
        pen_alpha = np.maximum(pen_alpha, layer)
        truths_alpha.append(layer)
    _lay(page, printed.astype(np.float32) / 255.0, (0.12, 0.12, 0.12), 0, 0)
    _lay(page, pen_alpha, PENS[pen], 0, 0)
    notes = {"pen": pen, "kind": kind}
    if condition.stamp:
        colour = (("violet", "blue", "red")[int(rng.integers(3))] if condition.stamp == "colour"
                  else ("black", "grey")[int(rng.integers(2))])
        if condition.stamp == "colour" and colour == "blue" and pen == "blue":
            colour = "red"  # a blue stamp on a blue pen is the same ink to a scanner: the dark-stamp case
        size = int(rng.integers(260, 380))
        ys, xs = np.nonzero(truths_alpha[0] > 0.2)
        # over part of the signature: the stamp's centre inside it, towards one end
        along = rng.uniform(0.1, 0.35) if rng.random() < 0.5 else rng.uniform(0.65, 0.9)
        cx = int(xs.min() + along * (xs.max() - xs.min()))
        cy = int(ys.mean() + rng.uniform(-0.2, 0.2) * (ys.max() - ys.min()))
        strength = rng.uniform(0.65, 0.9)
        _lay(page, strength * _stamp(rng, size), STAMPS[colour], cx - size // 2, cy - size // 2)
        notes["stamp"] = colour
    page = page * 255.0 + rng.normal(0.0, 2.0, page.shape).astype(np.float32)
    masks = [(t > 0.2).astype(np.uint8) for t in truths_alpha]
    return _capture(np.clip(page, 0, 255).astype(np.uint8), masks, condition, rng, notes)


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def _capture(page: np.ndarray, masks: list[np.ndarray], condition: Condition, rng: np.random.Generator,
             notes: dict) -> Document:
    """The scanner or phone: geometry first (rotation, perspective), then resolution, then the image mode."""
    h, w = page.shape[:2]
    if condition.rotate:
        angle = float(rng.uniform(-condition.rotate, condition.rotate))
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        page = cv2.warpAffine(page, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=(250, 250, 250))
        masks = [cv2.warpAffine(m, matrix, (w, h), flags=cv2.INTER_NEAREST) for m in masks]
        notes["angle"] = round(angle, 2)
    if condition.capture == "photo":
        page, masks = _phone_photo(page, masks, rng)
    scale = condition.dpi / DPI
    if scale != 1.0:
        size = (int(round(page.shape[1] * scale)), int(round(page.shape[0] * scale)))
        page = cv2.resize(page, size, interpolation=cv2.INTER_AREA)
        masks = [cv2.resize(m, size, interpolation=cv2.INTER_NEAREST) for m in masks]
    truth = [_box(m) for m in masks]
    if condition.capture in ("grey", "bitonal"):
        page = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY)
    if condition.capture == "bitonal":
        # a cheque scanner's adaptive threshold: the security background drops out, ink goes black
        block = int(round(condition.dpi * 0.12)) | 1
        page = cv2.adaptiveThreshold(page, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 18)
        if condition.g4:
            from PIL import Image

            buffer = io.BytesIO()
            Image.fromarray(page).convert("1").save(buffer, format="TIFF", compression="group4",
                                                     dpi=(condition.dpi, condition.dpi))
            return Document(None, truth, data=buffer.getvalue(), notes=notes)
    if condition.jpeg:
        quality = int(rng.integers(condition.jpeg[0], condition.jpeg[1] + 1))
        ok, encoded = cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, quality])
        page = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
        notes["jpeg"] = quality  # imencode/imdecode treat the channels as BGR both ways: the order is kept
    return Document(page, truth, notes=notes)


def _phone_photo(page: np.ndarray, masks: list[np.ndarray], rng: np.random.Generator):
    """A phone held over the document: perspective, a shadow across it, a little blur, sensor noise,
    JPEG; the document fills most of the frame."""
    h, w = page.shape[:2]
    margin = 0.04
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = rng.uniform(-margin, margin, (4, 2)) * np.float32([w, h])
    out_w, out_h = int(w * 1.08), int(h * 1.12)
    dst = src + np.float32([0.04 * w, 0.06 * h]) + jitter.astype(np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    table = np.array([60, 58, 55], np.uint8)
    photo = cv2.warpPerspective(page, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR,
                                borderValue=tuple(int(v) for v in table))
    masks = [cv2.warpPerspective(m, matrix, (out_w, out_h), flags=cv2.INTER_NEAREST) for m in masks]
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    direction = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(direction) * xx / out_w + np.sin(direction) * yy / out_h)
    shade = 1.0 - rng.uniform(0.25, 0.45) * (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    photo = photo.astype(np.float32) * shade[..., None] * np.float32([1.0, 0.98, 0.93])
    photo = cv2.GaussianBlur(photo, (0, 0), float(rng.uniform(0.6, 1.3)))
    photo += rng.normal(0, 3.0, photo.shape).astype(np.float32)
    photo = np.clip(photo, 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(75, 92))])
    return cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED), masks
