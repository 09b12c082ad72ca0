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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra import platform

STAMP = platform.DEPS_LAYER_DIR.parent / "deps.stamp.json"


def _project() -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads((platform.REPO_ROOT / "pyproject.toml").read_text())["project"]
    return project


def _pinned(requirements: list[str], where: str) -> list[str]:
    unpinned = [r for r in requirements if "==" not in r]
    if unpinned:
        raise SystemExit(f"pyproject.toml: {where} must be pinned with ==: {unpinned}")
    return requirements


def runtime_requirements() -> list[str]:
    return _pinned(list(_project()["dependencies"]), "runtime dependencies")


def reports_requirements() -> list[str]:
    """The reports function's own layer: pyproject.toml's ``reports`` dependency group."""
    return _pinned(list(_project()["optional-dependencies"]["reports"]), "the reports group")


def build(name: str, requirements: list[str], layer_dir: Path, platforms: tuple[str, ...]) -> None:
    """One layer into ``layer_dir/python``, skipped when its inputs' stamp is unchanged."""
    stamp = layer_dir.parent / f"{name}.stamp.json"
    inputs = {"requirements": requirements, "python": platform.PYTHON_VERSION, "platform": platforms[-1]}
    if len(platforms) > 1:
        inputs["platforms"] = list(platforms)
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    target = layer_dir / "python"
    if stamp.exists() and json.loads(stamp.read_text()).get("sha256") == digest and target.is_dir():
        print(f"{name} layer up to date ({digest[:12]})")
        return
    print(f"building {name} layer for CPython {platform.PYTHON_VERSION} on {', '.join(platforms)} ...")
    shutil.rmtree(layer_dir, ignore_errors=True)
    target.mkdir(parents=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *(option for each in platforms for option in ("--platform", each)),
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
    stamp.write_text(json.dumps({**inputs, "sha256": digest}, indent=2) + "\n")
    size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
    print(f"{name} layer built: {size / 1e6:.1f} MB unzipped ({digest[:12]})")


def main() -> int:
    build("deps", runtime_requirements(), platform.DEPS_LAYER_DIR, (platform.PIP_PLATFORM,))
    build("reports", reports_requirements(), platform.REPORTS_LAYER_DIR, platform.REPORTS_PIP_PLATFORMS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
