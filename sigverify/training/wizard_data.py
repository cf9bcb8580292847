"""The training wizard's data step without Qt: which folders were given, what they hold, and the
store's references written out as a dataset (so the GUI only shows what these return)."""

from __future__ import annotations

from pathlib import Path

from sigverify.errors import SigVerifyError
from sigverify.training.datasets import scan_datasets


def dataset_folders(text: str) -> list[str]:
    """The folders typed or chosen on the data page: several are separated by ';'."""
    return [part.strip() for part in text.split(";") if part.strip()]


def dataset_summary(folder: str) -> dict:
    """What the wizard shows of one or more dataset folders (';'-separated): counts, problems, a few
    thumbnails, and why training cannot start, if it cannot. Slow: call it off the UI thread."""
    from sigverify.imaging.decode import load_image
    from sigverify.imaging.preprocess import PreprocessParams, preprocess

    scan = scan_datasets([Path(f) for f in dataset_folders(folder)])
    thumbs = []
    for writer in scan.usable_writers()[:6]:
        try:
            thumbs.append(preprocess(load_image(scan.writers[writer].genuine[0]).pixels, PreprocessParams()))
        except SigVerifyError:
            continue
    error = ""
    try:
        scan.require_trainable()
    except SigVerifyError as exc:
        error = str(exc)
    return {"folder": folder, "writers": len(scan.writers), "genuine": scan.genuine_count,
            "forged": scan.forged_count,
            "usable": len(scan.usable_writers()), "problems": scan.problems, "thumbs": thumbs, "error": error,
            "layout": scan.layout}


def store_dataset_summary(store, forgeries: Path | None) -> dict:
    """The store option: write the references out as a dataset, then summarise it (off the UI thread)."""
    import tempfile

    target = Path(tempfile.mkdtemp(prefix="sigverify-store-dataset-"))
    return dataset_summary(str(store_dataset(store, forgeries, target)))


def store_dataset(store, forgeries: Path | None, target: Path) -> Path:
    """The store's active references (one writer per account) plus known forgeries (ACCOUNT/*.png)."""
    target.mkdir(parents=True, exist_ok=True)
    for account in store.find_accounts(""):
        references = store.references(account.number)
        if not references:
            continue
        folder = target / account.number.replace("/", "_")
        (folder / "genuine").mkdir(parents=True, exist_ok=True)
        for reference in references:
            suffix = Path(reference.filename).suffix or ".png"
            (folder / "genuine" / f"{reference.id}{suffix}").write_bytes(store.reference_image(reference.id))
        known = Path(forgeries) / account.number if forgeries else None
        if known and known.is_dir():
            (folder / "forged").mkdir(exist_ok=True)
            for path in sorted(known.iterdir()):
                if path.is_file():
                    (folder / "forged" / path.name).write_bytes(path.read_bytes())
    return target
