"""Facts about the Lambda platform the app targets, shared by the CDK app and tools/build_layer.py.

Kept free of aws_cdk imports so the layer build can read it without loading the CDK.
"""

from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parent.parent

# The newest Python runtime aws-cdk-lib offers; the dependency layer is built for exactly this version.
PYTHON_VERSION: Final = "3.14"
# arm64 (Graviton): cheaper per GB-second; the layer's wheels must match it.
PIP_PLATFORM: Final = "manylinux2014_aarch64"

DEPS_LAYER_DIR: Final = REPO_ROOT / ".build" / "layers" / "deps"
# The reports function's own layer: DuckDB, the SQL engine of large reports (pyproject.toml's ``reports``
# group), about 60 MB that no other function should carry.
REPORTS_LAYER_DIR: Final = REPO_ROOT / ".build" / "layers" / "reports"
# DuckDB publishes manylinux_2_28 wheels only for arm64; Lambda's Python 3.14 runtime is Amazon Linux
# 2023 (glibc 2.34), which runs them.
REPORTS_PIP_PLATFORMS: Final = ("manylinux_2_28_aarch64", PIP_PLATFORM)
COMMON_LAYER_DIR: Final = REPO_ROOT / "layers" / "common"
FUNCTIONS_DIR: Final = REPO_ROOT / "functions"
POLICY_DIR: Final = REPO_ROOT / "policies"

# What never goes into an asset: caches and packaging metadata of the editable dev install.
ASSET_EXCLUDES: Final = ("**/__pycache__", "**/*.pyc", "**/*.egg-info", "**/.mypy_cache", "**/.ruff_cache")
