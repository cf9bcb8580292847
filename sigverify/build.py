"""Build the one-folder bundle from build.spec and report its time and size.

    python -m sigverify.build [--smoke]

--smoke runs the bundle's self-test afterwards (offscreen).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build dist/sigverify from build.spec")
    parser.add_argument("--smoke", action="store_true", help="run the bundle's --self-test afterwards")
    args = parser.parse_args(argv)
    if not (ROOT / "models" / "default" / "manifest.json").is_file():
        print("build: models/default is missing; the bundle needs the default model", file=sys.stderr)
        return 2
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
                             "--distpath", str(ROOT / "dist"), "--workpath", str(ROOT / "build"),
                             str(ROOT / "build.spec")], cwd=ROOT)
    if result.returncode:
        return result.returncode
    seconds = time.perf_counter() - started
    bundle = ROOT / "dist" / "sigverify"
    print(f"build: {bundle} built in {seconds / 60:.1f} min, {folder_size(bundle) / 2**20:.0f} MiB", flush=True)
    if args.smoke:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        env.pop("SIGVERIFY_MODEL", None)
        return subprocess.run([str(bundle / "sigverify"), "--self-test"], env=env).returncode
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
