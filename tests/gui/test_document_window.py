"""Issue 29 in the window: a whole cheque on security paper is boxed through the document path, and a
signature under a stamp in the pen's colour says so before verifying and comes out REFER with the
reason in words — never FORGED because of the stamp."""

from __future__ import annotations

import cv2
import numpy as np

from sigverify.gui.result_panel import BADGES
from sigverify.imaging.document import box_iou, read_document
from sigverify.synthetic import SyntheticWriter
from sigverify.synthetic_document import CONDITIONS, make_document
from tests.gui.shots import save_screenshot
from tests.gui.test_main_window import _open_account, _verify, window, world  # noqa: F401  (fixtures)


def _signature() -> np.ndarray:
    image = SyntheticWriter(51).genuine(np.random.default_rng(9))  # the account's writer
    return cv2.resize(image, (image.shape[1] * 2, image.shape[0] * 2))


def _write(path, pixels) -> None:
    cv2.imwrite(str(path), pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))


def test_a_cheque_on_security_paper_is_boxed_in_the_window(qtbot, window, world, tmp_path):  # noqa: F811
    document = make_document([_signature()], CONDITIONS["coloured stamp over the signature"],
                             np.random.default_rng(3), pen="blue")
    _write(tmp_path / "cheque.png", document.pixels)
    _open_account(qtbot, window)
    assert window.load_questioned_file(tmp_path / "cheque.png")
    assert box_iou(window.crop_view.box, document.truth[0]) >= 0.5
    save_screenshot(window, "document-security-paper-violet-stamp")
    # what is verified is the pen's ink alone: no pixel of the stamp's or the background's hue is left
    crop = window.questioned_crop()
    assert crop.ndim == 2 and crop.max() == 255


def test_a_stamp_in_the_pens_colour_refers_with_the_reason(qtbot, window, world, tmp_path):  # noqa: F811
    path = tmp_path / "stamped.png"
    for seed in range(10):  # a document on which the stamp lies over the strokes and is recognised
        document = make_document([_signature()], CONDITIONS["black or grey stamp over the signature"],
                                 np.random.default_rng(seed), pen="black")
        if read_document(document.pixels).signatures(1)[0].problems:
            break
    else:
        raise AssertionError("no generated stamped document was recognised as stamped")
    _write(path, document.pixels)
    _open_account(qtbot, window)
    assert window.load_questioned_file(path)
    assert window.message.isVisible() and "stamp lies over the signature" in window.message.text()
    _verify(qtbot, window)
    assert window.last_verification.decision.verdict == "refer"
    assert window.result_panel.badge.text() == BADGES["refer"][0]
    assert "stamp lies over the signature" in window.result_panel.why.text()
    save_screenshot(window, "document-stamp-referred")
    stored = window.store.history("NL-1001")[0]
    assert stored["verdict"] == "refer"
