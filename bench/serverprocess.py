"""Wait for and stop the benchmark's loopback server processes."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from typing import IO, TypeVar

__all__ = ["first_found", "stop"]

Found = TypeVar("Found")


def first_found(
    stream: IO[str], find: Callable[[str], Found | None], seconds: float
) -> Found | None:
    """Return the first non-None ``find(line)`` of ``stream`` within ``seconds``.

    The rest of the stream is then read in the background, so that a full
    pipe cannot stop the server. None means no line matched in time.
    """
    found: list[Found] = []

    def read() -> None:
        for line in stream:
            value = find(line)
            if value is not None:
                found.append(value)
                break

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(seconds)
    if not found:
        return None

    threading.Thread(target=stream.read, daemon=True).start()
    return found[0]


def stop(process: subprocess.Popen) -> None:
    """Terminate ``process``, and kill it if it has not ended within 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
