"""Build the Lambda dependency layer without Docker, and only when its inputs changed.

pip downloads the wheels published for the Lambda platform (manylinux, arm64, the runtime's CPython)
instead of building anything locally -- the way the AWS Powertools project builds its own layer. The
inputs (pinned runtime requirements, Python version, platform) are hashed into a stamp file; a build
with an unchanged stamp is skipped, so the layer asset (and its hash) stay the same between synths.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra import platform

STAMP = platform.DEPS_LAYER_DIR.parent / "deps.stamp.json"


def runtime_requirements() -> list[str]:
    project = tomllib.loads((platform.REPO_ROOT / "pyproject.toml").read_text())["project"]
    requirements: list[str] = project["dependencies"]
    unpinned = [r for r in requirements if "==" not in r]
    if unpinned:
        raise SystemExit(f"pyproject.toml: runtime dependencies must be pinned with ==: {unpinned}")
    return requirements


def main() -> int:
    requirements = runtime_requirements()
    inputs = {
        "requirements": requirements,
        "python": platform.PYTHON_VERSION,
        "platform": platform.PIP_PLATFORM,
    }
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    target = platform.DEPS_LAYER_DIR / "python"
    if STAMP.exists() and json.loads(STAMP.read_text()).get("sha256") == digest and target.is_dir():
        print(f"dependency layer up to date ({digest[:12]})")
        return 0
    print(f"building dependency layer for CPython {platform.PYTHON_VERSION} on {platform.PIP_PLATFORM} ...")
    shutil.rmtree(platform.DEPS_LAYER_DIR, ignore_errors=True)
    target.mkdir(parents=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--platform",
            platform.PIP_PLATFORM,
            "--implementation",
            "cp",
            "--python-version",
            platform.PYTHON_VERSION,
            "--only-binary=:all:",
            "--no-compile",
            "--target",
            str(target),
            *requirements,
        ],
        check=True,
    )
    STAMP.write_text(json.dumps({**inputs, "sha256": digest}, indent=2) + "\n")
    size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
    print(f"dependency layer built: {size / 1e6:.1f} MB unzipped ({digest[:12]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
