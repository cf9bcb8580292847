"""Finding the signature on a cheque: generated cheques (printed bank name, date, payee line,
amount box, amount in words, MICR line, a "Signature" label over its line; four layouts) with a
real signature of a test writer on the line, and how often the page finder boxes it.

    python bench/cheques.py               # 200 cheques, writes bench/results/cheques.md
    python bench/cheques.py --count 40    # fewer
    python bench/cheques.py --seed 1      # another draw

Signatures: genuine signatures of the test writers of SigComp2011 (051–069), BHSig260-Hindi
(101–160) and GPDS-synthetic (121–150) from ../shared/data, and generated writers, in turn.
A cheque counts as found when the proposed box overlaps the signature's box by IoU ≥ 0.5.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import provenance  # noqa: E402  (bench/ is on the path)
from sigverify.errors import SigVerifyError  # noqa: E402
from sigverify.imaging.page import find_signature_box  # noqa: E402
from sigverify.synthetic import SyntheticWriter  # noqa: E402
from sigverify.synthetic_cheque import iou, make_cheque  # noqa: E402
from sigverify.training.known_datasets import KNOWN_DATASETS, shared_data_folder  # noqa: E402

SOURCES = ("sigcomp2011", "bhsig260_hindi", "gpds_synthetic")


def test_signatures(name: str) -> list[Path]:
    folder = shared_data_folder() / name
    entry = KNOWN_DATASETS[name]
    return sorted(p for writer in sorted(folder.iterdir()) if writer.is_dir() and entry.is_test_writer(writer.name)
                  for p in (writer / "genuine").glob("*.*"))


def run(count: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    pools = {name: test_signatures(name) for name in SOURCES if (shared_data_folder() / name).is_dir()}
    kinds = ["generated"] + list(pools)
    found: dict[str, list[bool]] = {kind: [] for kind in kinds}
    seconds = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        if kind == "generated":
            signature = SyntheticWriter(1000 + 1000 * seed + i).genuine(rng)
        else:
            signature = cv2.imread(str(pools[kind][int(rng.integers(len(pools[kind])))]), cv2.IMREAD_GRAYSCALE)
        page, truth = make_cheque(signature, rng, layout=i % 4)
        started = time.perf_counter()
        try:
            box = find_signature_box(page)
        except SigVerifyError:
            box = (0, 0, 1, 1)
        seconds.append(time.perf_counter() - started)
        found[kind].append(iou(box, truth) >= 0.5)
    everything = [hit for hits in found.values() for hit in hits]
    return {"found": sum(everything), "count": len(everything),
            "by_source": {k: (sum(v), len(v)) for k, v in found.items() if v},
            "ms_per_page": 1000 * float(np.median(seconds))}


def render(result: dict, command: str) -> str:
    rows = [f"| {k} | {hit} of {n} ({100 * hit / n:.0f}%) |" for k, (hit, n) in result["by_source"].items()]
    return "\n".join([
        "# SigVerify: the signature found on a cheque", "", provenance.stamp(command), "",
        f"Signature boxed (IoU ≥ 0.5) on **{result['found']} of {result['count']}** generated cheques "
        f"({100 * result['found'] / result['count']:.0f}%; target ≥ 95%); median {result['ms_per_page']:.0f} ms "
        "per 1800×825 page.", "", "| signatures from | boxed |", "|---|---|", *rows, ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0, help="another draw of signatures and layouts")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "cheques.md"))
    args = parser.parse_args(argv)
    command = "python bench/cheques.py" + (f" --count {args.count}" if args.count != 200 else "")
    text = render(run(args.count, args.seed), command + (f" --seed {args.seed}" if args.seed else ""))
    print(text)
    Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
