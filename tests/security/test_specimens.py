"""A reference specimen must look like handwriting on paper and like the account's other specimens
(issue 13, item 14): refused through the real CLI with the reason in words, nothing enrolled."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sigverify.cli import EXIT_BAD_INPUT, main
from sigverify.synthetic import SyntheticWriter


@pytest.fixture
def enrol(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SIGVERIFY_STORE", str(tmp_path / "store.db"))
    monkeypatch.delenv("SIGVERIFY_MODEL", raising=False)  # the shipped model

    def run(*args):
        try:
            code = main([*map(str, args)])
        except SystemExit as exc:
            code = exc.code
        out = capsys.readouterr()
        return code, out.out + out.err

    assert run("accounts", "add", "ACC", "--name", "Holder")[0] == 0

    def enrol_images(**images):
        paths = []
        for name, pixels in images.items():
            paths.append(tmp_path / f"{name}.png")
            cv2.imwrite(str(paths[-1]), pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
        return run("enroll", "ACC", *paths)

    enrol_images.run = run
    return enrol_images


def _signature(seed=3, draw=0):
    return SyntheticWriter(seed).genuine(np.random.default_rng(draw))


def _colour_scene() -> np.ndarray:
    scene = np.zeros((300, 600, 3), np.uint8)
    scene[:] = (40, 120, 200)
    cv2.circle(scene, (150, 150), 80, (220, 40, 40), -1)
    cv2.rectangle(scene, (300, 50), (550, 250), (30, 200, 60), -1)
    return scene


def _white_on_black() -> np.ndarray:
    sig = _signature()
    chalk = np.full(sig.shape, 35, np.uint8)
    chalk[sig < 128] = 220
    return chalk


def _speckle() -> np.ndarray:
    rng = np.random.default_rng(5)
    page = np.full((400, 800), 245, np.uint8)
    for _ in range(400):  # hundreds of separate dots, each far larger than a speck
        x, y = rng.integers(5, 795), rng.integers(5, 395)
        cv2.circle(page, (int(x), int(y)), 2, 20, -1)
    return page


def _noise() -> np.ndarray:
    return np.random.default_rng(6).integers(0, 256, (300, 600)).astype(np.uint8)


@pytest.mark.parametrize("make, words", [
    (_colour_scene, "colour picture"),
    (_white_on_black, "light writing on a dark ground"),
    (_speckle, "specks"),
    (_noise, "blank"),  # pure noise never forms strokes: preprocessing already finds no writing
])
def test_what_is_not_handwriting_on_paper_is_refused_with_the_reason(enrol, make, words, tmp_path):
    from sigverify.store.repository import Store

    code, out = enrol(bad=make())
    assert code == EXIT_BAD_INPUT and words in out and "Traceback" not in out, out
    assert len(out.strip().splitlines()) == 1  # one clear line
    assert Store(str(tmp_path / "store.db")).references("ACC") == []


def test_nothing_is_enrolled_when_one_file_of_a_batch_is_refused(enrol, tmp_path):
    from sigverify.store.repository import Store

    code, out = enrol(good1=_signature(draw=1), bad=_colour_scene(), good2=_signature(draw=2))
    assert code == EXIT_BAD_INPUT and "bad.png cannot be a specimen" in out
    assert Store(str(tmp_path / "store.db")).references("ACC") == []


def test_a_specimen_unlike_the_accounts_others_is_refused_but_another_of_the_same_hand_is_not(enrol, tmp_path):
    from sigverify.store.repository import Store

    assert enrol(a1=_signature(3, 1), a2=_signature(3, 2), a3=_signature(3, 3))[0] == 0
    code, out = enrol(stranger=_signature(11, 4))
    assert code == EXIT_BAD_INPUT and "unlike account ACC's 3 other specimen(s)" in out, out
    code, out = enrol(a4=_signature(3, 5))
    assert code == 0, out
    assert len(Store(str(tmp_path / "store.db")).references("ACC")) == 4
