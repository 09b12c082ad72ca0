"""YAML documents (policies, mapping presets, email wording) read with libyaml's parser.

PyYAML's wheels carry libyaml. Its safe loader builds the same Python objects as the pure-Python
``yaml.safe_load`` about ten times faster, which is most of what reading the shipped presets costs a
cold start.
"""

from __future__ import annotations

from typing import Any

import yaml

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str | bytes) -> Any:
    """``yaml.safe_load``, with libyaml when it is there. Raises ``yaml.YAMLError`` as it does."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, C or Python
