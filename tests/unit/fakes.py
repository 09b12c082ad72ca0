"""In-memory stand-ins for the store's file register and S3 reader, shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterator

from arcollect.entities import IngestFile


class Register:
    """The file register's contract: the first record of an object version wins."""

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], IngestFile] = {}

    def record(self, file: IngestFile) -> bool:
        return self.files.setdefault((file.key, file.version_id), file) is file


class Reader:
    """Streams ``content`` in ``chunk``-byte pieces (small by default, to cross every boundary) and
    counts how often the object was read."""

    def __init__(self, content: bytes, chunk: int = 7) -> None:
        self.content, self.chunk = content, chunk
        self.reads = 0

    def iter_bytes(self, bucket: str, key: str, version_id: str | None = None) -> Iterator[bytes]:
        self.reads += 1
        for start in range(0, len(self.content), self.chunk):
            yield self.content[start : start + self.chunk]
