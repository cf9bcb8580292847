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
        return smoke(bundle)
    return 0


def smoke(bundle: Path) -> int:
    """Self-test, then retrain → register → activate → verify, all with the bundle's executable
    and a fresh user-data folder (the bundle folder itself stays read-only)."""
    import json
    import tempfile

    exe = str(bundle / "sigverify")
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SIGVERIFY_HOME=home)
        env.pop("SIGVERIFY_MODEL", None)
        if subprocess.run([exe, "--self-test"], env=env).returncode:
            return 1
        data = Path(home) / "data"
        subprocess.run([sys.executable, "-m", "sigverify.synthetic", str(data / "samples")], check=True,
                       capture_output=True)
        from sigverify.synthetic import write_dataset

        write_dataset(data / "set", writers=6, genuine=5, forged=2, seed=4)
        config = Path(home) / "quick.json"
        config.write_text(json.dumps({"epochs": 1, "steps_per_epoch": 2, "writers_per_batch": 3,
                                      "validation_share": 0.34, "eval_references": 2}))
        steps = [[exe, "train", str(data / "set"), "--config", str(config), "--out", str(Path(home) / "run"),
                  "--quiet"],
                 [exe, "models", "register", str(Path(home) / "run" / "model")]]
        for step in steps:
            if subprocess.run(step, env=env).returncode:
                print(f"build: smoke step failed: {' '.join(step[1:3])}", file=sys.stderr)
                return 1
        version = json.loads((Path(home) / "run" / "model" / "manifest.json").read_text())["version"]
        if subprocess.run([exe, "models", "activate", version], env=env).returncode:
            return 1
        samples = [str(data / "samples" / f"reference_{i}.png") for i in (1, 2)]
        result = subprocess.run([exe, "verify", *samples, str(data / "samples" / "questioned_genuine.png"), "--json"],
                                env=env, capture_output=True, text=True)
        used = json.loads(result.stdout)["model_version"] if result.stdout.strip().startswith("{") else "?"
        print(f"build: retrained model {version} activated from the bundle; verify used {used}")
        return 0 if used == version else 1


if __name__ == "__main__":
    raise SystemExit(main())
