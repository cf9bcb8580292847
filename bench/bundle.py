"""Build time and size of the PyInstaller bundle, measured by building it.

    python bench/bundle.py                # builds dist/sigverify, writes bench/results/bundle.md
    python bench/bundle.py --write-docs   # also copies the figures into README.md

The build is ``python -m sigverify.build`` (build.spec), timed from outside, as .ci/run runs it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import provenance  # noqa: E402  (bench/ is on the path)

DOC_MARKERS = provenance.markers("bundle-size", "bench/bundle.py --write-docs")


def largest_files(folder: Path, count: int = 3) -> list[tuple[str, int]]:
    files = [(p, p.stat().st_size) for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return [(p.name, size) for p, size in sorted(files, key=lambda item: -item[1])[:count]]


def render(minutes: float, total: int, largest: list[tuple[str, int]], command: str) -> str:
    biggest = ", ".join(f"`{name}` {size / 2**20:.0f} MiB" for name, size in largest)
    return "\n".join(["# SigVerify bundle", "", provenance.stamp(command), "",
                      f"The build takes **{minutes:.1f} min** and the bundle is **{total / 2**20:,.0f} MiB**; "
                      f"its largest files: {biggest}.", ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "bundle.md"))
    parser.add_argument("--write-docs", action="store_true", help="also copy the figures into README.md")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if subprocess.run([sys.executable, "-m", "sigverify.build"], cwd=REPO).returncode:
        print("bundle: the build failed; nothing recorded", file=sys.stderr)
        return 1
    minutes = (time.perf_counter() - started) / 60
    bundle = REPO / "dist" / "sigverify"
    total = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())
    text = render(minutes, total, largest_files(bundle), "python bench/bundle.py")
    print(text)
    Path(args.out).write_text(text, encoding="utf-8")
    if args.write_docs:
        provenance.replace_block(REPO / "README.md", *DOC_MARKERS, text.split("\n", 2)[2].strip("\n"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
