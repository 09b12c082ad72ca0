"""Loading and invoking the functions in-process, the way Lambda does.

Lambda puts the function's folder on the path and imports ``handler``; layers are on /opt/python. Here
the shared package is already importable (editable install), and each handler is imported from its
file under a unique module name so the four ``handler`` modules do not shadow each other.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"


def load_handler(function: str, *, fresh: bool = False) -> ModuleType:
    """Import ``functions/<function>/handler.py`` (once per process unless ``fresh``)."""
    module_name = f"arcollect_function_{function}"
    if not fresh and module_name in sys.modules:
        return sys.modules[module_name]
    path = FUNCTIONS_DIR / function / "handler.py"
    if not path.is_file():
        raise FileNotFoundError(f"no handler at {path}")
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def invoke(function: str, event: dict[str, Any]) -> Any:
    """Invoke a function's ``lambda_handler`` with ``event`` and a fresh context."""
    return load_handler(function).lambda_handler(event, LambdaContext(function_name=f"arcollect-{function}"))
