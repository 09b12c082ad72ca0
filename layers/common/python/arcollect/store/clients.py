"""AWS clients made when first used, not when a function's module is imported.

A boto3 client costs its first request 10-100 ms (the endpoint rules and the service model are read
from disk; the first client of a process pays the most). Made at import, that cost lands on every cold
start, also for the invocations that never call the service (a portal page that reads no object, a
tick with nothing to send). Made on first use, it is paid by the first request that needs it, once per
process, and the cold-start import stays small (``make bench``: ``cold_start_import_*``).
"""

from __future__ import annotations

import threading
from typing import Any

import boto3


class LazyClient:
    """Stands in for ``boto3.client(service)``: the client is made on the first attribute read."""

    def __init__(self, service: str, *, config: Any = None) -> None:
        self._service = service
        self._config = config
        self._client: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        client = self._client
        if client is None:
            with self._lock:  # the local stack runs functions on several threads
                if self._client is None:
                    options = {"config": self._config} if self._config is not None else {}
                    self._client = boto3.client(self._service, **options)
                client = self._client
        return getattr(client, name)

    def __repr__(self) -> str:
        made = "made" if self._client is not None else "not made yet"
        return f"LazyClient({self._service!r}, {made})"
