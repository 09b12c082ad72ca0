"""YAML documents (policies, mapping presets, email wording) read with libyaml's parser.

PyYAML's wheels carry libyaml. Its safe loader builds the same Python objects as the pure-Python
``yaml.safe_load`` about ten times faster, which is most of what reading the shipped presets costs a
cold start. PyYAML itself is imported by the first document read, not by whoever imports this module:
the portal and the dunning function import the policy's types at cold start, and parse a policy only
when a request needs one (about 8 ms of a cold start, ``make bench``).
"""

from __future__ import annotations

from typing import Any


class YamlError(ValueError):
    """A document that is not valid YAML (PyYAML's ``YAMLError``, with its message and position)."""


def safe_load(text: str | bytes) -> Any:
    """``yaml.safe_load``, with libyaml when it is there; YamlError for a document that is not YAML."""
    import yaml

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader, C or Python
    except yaml.YAMLError as error:
        raise YamlError(str(error)) from error
