"""An s3fs filesystem that counts the bytes it fetches, for tests and benchmarks.

Register it, then read a bucket through ``root="countings3://bucket"`` with
``storage_options`` that point at the loopback S3 server: every GET goes to
the real server, and the bytes of the responses are added up.
"""

from __future__ import annotations

import threading
from typing import Any

import fsspec
from s3fs import S3FileSystem

PROTOCOL = "countings3"


class CountingS3FileSystem(S3FileSystem):
    """S3 filesystem that adds up the bytes and requests of its GETs."""

    protocol = (PROTOCOL,)
    bytes_read = 0
    requests = 0
    _lock = threading.Lock()

    async def _cat_file(self, path: str, *args: Any, **kwargs: Any) -> bytes:
        data = await super()._cat_file(path, *args, **kwargs)
        with CountingS3FileSystem._lock:
            CountingS3FileSystem.bytes_read += len(data)
            CountingS3FileSystem.requests += 1
        return data

    @classmethod
    def reset(cls) -> None:
        """Set both counters to zero."""
        with cls._lock:
            cls.bytes_read = 0
            cls.requests = 0


def register() -> None:
    """Make ``countings3://`` URLs open this filesystem."""
    fsspec.register_implementation(PROTOCOL, CountingS3FileSystem, clobber=True)


def storage_options(endpoint_url: str) -> dict[str, Any]:
    """Return options that read public objects from the loopback server."""
    return {
        "anon": True,
        "client_kwargs": {"endpoint_url": endpoint_url},
    }
