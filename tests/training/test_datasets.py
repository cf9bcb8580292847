"""Dataset scanning in every layout, problems reported without crashing, writer-disjoint splits."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sigverify.errors import DatasetError
from sigverify.imaging.preprocess import PreprocessParams
from sigverify.synthetic import SyntheticWriter, write_dataset
from sigverify.training.datasets import prepare, scan_dataset, split_writers


def test_writer_folder_layout(tmp_path):
    write_dataset(tmp_path, writers=3, genuine=4, forged=2, seed=1)
    scan = scan_dataset(tmp_path)
    assert scan.layout == "writer folders"
    assert sorted(scan.writers) == ["001", "002", "003"]
    assert scan.genuine_count == 12 and scan.forged_count == 6
    assert scan.problems == []
    assert "3 writers, 12 genuine, 6 forged" in scan.summary()


def test_cedar_layout(tmp_path, rng):
    org, forg = tmp_path / "full_org", tmp_path / "full_forg"
    org.mkdir()
    forg.mkdir()
    for w in (1, 2):
        writer = SyntheticWriter(w)
        for n in (1, 2, 3):
            cv2.imwrite(str(org / f"original_{w}_{n}.png"), writer.genuine(rng))
            cv2.imwrite(str(forg / f"forgeries_{w}_{n}.png"), writer.forgery(rng))
    cv2.imwrite(str(org / "scan0001.png"), SyntheticWriter(9).genuine(rng))
    scan = scan_dataset(tmp_path)
    assert scan.layout == "CEDAR"
    assert sorted(scan.writers) == ["001", "002"]
    assert len(scan.writers["001"].genuine) == 3 and len(scan.writers["002"].forged) == 3
    assert any("scan0001.png" in p for p in scan.problems)


def test_csv_of_pairs(tmp_path, rng):
    writer = SyntheticWriter(3)
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(tmp_path / name), writer.genuine(rng))
    cv2.imwrite(str(tmp_path / "f.png"), writer.forgery(rng))
    (tmp_path / "pairs.csv").write_text("reference,questioned,label\na.png,b.png,1\na.png,f.png,0\n"
                                        "a.png,missing.png,1\nbroken line\n")
    scan = scan_dataset(tmp_path / "pairs.csv")
    assert scan.layout == "CSV pairs"
    assert [label for _, _, label in scan.pairs] == [1, 0]
    assert any("missing.png" in p for p in scan.problems)
    assert any("line 5" in p for p in scan.problems)


def test_problems_are_reported_not_raised(tmp_path):
    write_dataset(tmp_path, writers=3, genuine=3, forged=1, seed=2)
    (tmp_path / "001" / "genuine" / "99.png").write_bytes(b"not a png at all")
    for path in list((tmp_path / "003" / "genuine").iterdir())[1:]:
        path.unlink()
    scan = scan_dataset(tmp_path)
    assert any("writer 001" in p and "99.png" in p for p in scan.problems)
    assert any("writer 003: 1 genuine signature(s); at least 2 needed" in p for p in scan.problems)
    assert len(scan.writers["001"].genuine) == 3  # the unreadable file left the list
    assert scan.usable_writers() == ["001", "002"]


@pytest.mark.parametrize("setup,message", [
    ("empty", "no signature images found"),
    ("one_writer", r"1 writer\(s\) with at least 2 readable genuine"),
    ("unreadable", r"0 writer\(s\) with at least 2 readable genuine"),
])
def test_untrainable_datasets_get_a_clear_message(tmp_path, setup, message):
    if setup == "one_writer":
        write_dataset(tmp_path, writers=1, genuine=4, forged=1)
    elif setup == "unreadable":
        for w in ("001", "002"):
            (tmp_path / w / "genuine").mkdir(parents=True)
            for n in range(3):
                (tmp_path / w / "genuine" / f"{n}.png").write_bytes(b"garbage")
    scan = scan_dataset(tmp_path)
    with pytest.raises(DatasetError, match=message):
        scan.require_trainable()


def test_not_a_folder(tmp_path):
    with pytest.raises(DatasetError, match="not a folder"):
        scan_dataset(tmp_path / "nowhere")


def test_splits_are_writer_disjoint_and_seeded():
    writers = [f"{i:03d}" for i in range(1, 70)]
    test = [f"{i:03d}" for i in range(51, 70)]
    train, val, held = split_writers(writers, 0.2, seed=3, test_writers=test)
    assert set(train).isdisjoint(val) and set(train).isdisjoint(held) and set(val).isdisjoint(held)
    assert set(train) | set(val) | set(held) == set(writers)
    assert held == test and len(val) == 10
    assert split_writers(writers, 0.2, seed=3, test_writers=test) == (train, val, held)
    assert split_writers(writers, 0.2, seed=4, test_writers=test)[1] != val


def test_prepare_preprocesses_once_with_labels(tmp_path):
    write_dataset(tmp_path, writers=2, genuine=3, forged=2, seed=5)
    scan = scan_dataset(tmp_path)
    data = prepare(scan, ["001", "002"], PreprocessParams())
    assert data.canvases.shape == (10, 96, 192)
    assert data.writer.tolist() == [0] * 5 + [1] * 5
    assert data.forged.tolist() == ([False] * 3 + [True] * 2) * 2
    assert np.all(data.canvases.max(axis=(1, 2)) > 0.9)
