"""The CLI's startup leaves the functions' observability alone: Powertools' metrics read their namespace
once, when ``arcollect.observability`` is first imported, and the local stack sets the functions'
environment (POWERTOOLS_METRICS_NAMESPACE among it) only when it starts. A command module that imported
the ingest pipeline at the top made every function of ``arcollect demo`` fail ("Must contain a metric
namespace"); commands import such code when they run."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_cli_with_every_command_imports_no_function_observability() -> None:
    probe = (
        "import json, sys, arcollect_cli.main; arcollect_cli.main.build_parser(); "
        "print(json.dumps(sorted(m for m in sys.modules if m == 'arcollect.observability' "
        "or m.startswith('aws_lambda_powertools'))))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []
