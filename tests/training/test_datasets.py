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


def _named_dataset(root, name, writers, seed):
    from sigverify.synthetic import write_dataset

    folder = root / name
    folder.mkdir()
    write_dataset(folder, writers=writers, genuine=3, forged=1, seed=seed)
    return folder


def test_several_datasets_are_scanned_as_one_with_distinct_writer_names(tmp_path):
    from sigverify.training.datasets import scan_datasets

    first = _named_dataset(tmp_path, "bank_a", 3, 1)
    second = _named_dataset(tmp_path, "bank_b", 2, 2)
    scan = scan_datasets([first, second])
    assert sorted(scan.writers) == ["bank_a/001", "bank_a/002", "bank_a/003", "bank_b/001", "bank_b/002"]
    assert scan.genuine_count == 15


def test_known_datasets_keep_their_test_writers_out_and_every_dataset_validates(tmp_path):
    """A folder named like a known public dataset gets its published split; a test-only one never trains."""
    from sigverify.training.trainer import TrainConfig, split_dataset

    sigcomp = _named_dataset(tmp_path, "sigcomp2011", 60, 3)  # writers 001-060: 051-060 are test writers
    arabic = _named_dataset(tmp_path, "arabic_photos", 3, 4)  # test only
    other = _named_dataset(tmp_path, "bank_a", 10, 5)  # unknown: split by the seed
    config = TrainConfig(datasets=[str(sigcomp), str(arabic), str(other)], validation_share=0.2)
    split = split_dataset(config, [])
    assert "sigcomp2011/051" in split.test and "sigcomp2011/050" not in split.test
    assert all(w.startswith("arabic_photos/") is False for w in split.train + split.validation)
    assert {w.split("/")[0] for w in split.validation} == {"sigcomp2011", "bank_a"}
    assert not set(split.train) & set(split.validation) and not set(split.train) & set(split.test)
    assert all(int(w.split("/")[1]) <= 50 for w in split.train if w.startswith("sigcomp2011/"))


def test_the_canvas_cache_is_used_and_invalidated_when_a_file_changes(tmp_path):
    import os

    from sigverify.imaging.preprocess import PreprocessParams
    from sigverify.training.datasets import prepare, scan_dataset

    folder = _named_dataset(tmp_path, "bank_a", 2, 6)
    cache = tmp_path / "cache"
    scan = scan_dataset(folder)
    params = PreprocessParams()
    first = prepare(scan, ["001", "002"], params, cache_dir=cache)
    assert len(list(cache.glob("*.npz"))) == 1
    again = prepare(scan, ["001", "002"], params, cache_dir=cache)
    np.testing.assert_array_equal(first.canvases, again.canvases)
    touched = scan.writers["001"].genuine[0]
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    prepare(scan_dataset(folder), ["001", "002"], params, cache_dir=cache)
    assert len(list(cache.glob("*.npz"))) == 2
