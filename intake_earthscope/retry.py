"""Retries of transient read failures: exponential backoff with full jitter.

This package retries, and the libraries below it do not: s3fs and botocore
get one attempt each (see :meth:`StorageSpec.fsspec_options
<intake_earthscope.storage.StorageSpec.fsspec_options>`) and httpx never
retries a request. So a read costs at most ``attempts`` requests, and the
settings in :func:`intake_earthscope.settings.retry_settings` bound it.

Transient failures are server errors (5xx, S3 ``SlowDown``), reset or
refused connections, timeouts and bodies shorter than announced. A 4xx
response is never retried here; the one exception, expired credentials, is
handled by :mod:`intake_earthscope.storage` with one retry of its own.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from intake_earthscope.settings import RetrySettings, retry_settings

__all__ = ["AttemptTimeout", "RetriesExhausted", "backoff_delay", "call_with_retries"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_jitter = random.Random()


class AttemptTimeout(TimeoutError):
    """Internal: one attempt ran past ``INTAKE_EARTHSCOPE_ATTEMPT_SECONDS``.

    Both S3 clients raise it, so that the error after the last attempt names
    the setting that bounds the wait.
    """

    def __init__(self, url: str, seconds: float, method: str = "GET") -> None:
        super().__init__(
            f"{method} {url} did not finish within {seconds:g} s "
            "(INTAKE_EARTHSCOPE_ATTEMPT_SECONDS)"
        )
        self.url = url
        self.seconds = seconds
        self.method = method

    def __reduce__(self) -> tuple[type[AttemptTimeout], tuple[str, float, str]]:
        # pickle would call the class with ``args``, the message alone.
        return type(self), (self.url, self.seconds, self.method)


class RetriesExhausted(Exception):
    """Internal: every attempt of a read failed with a transient error.

    Callers translate it into the package's error for their transport; its
    ``__cause__`` is the last failure.
    """

    def __init__(self, attempts: int, seconds: float, last: BaseException) -> None:
        super().__init__(
            f"failed {attempts} time(s) in {seconds:.1f} s, last with "
            f"{type(last).__name__}"
        )
        self.attempts = attempts
        self.seconds = seconds
        self.last = last


def backoff_delay(settings: RetrySettings, retry: int) -> float:
    """Return the pause before retry number ``retry`` (1 for the first).

    Full jitter: a uniform draw between 0 and the exponential ceiling
    ``base_delay * 2 ** (retry - 1)``, capped at ``max_delay``.
    """
    ceiling = min(settings.max_delay, settings.base_delay * 2 ** (retry - 1))
    return _jitter.uniform(0.0, ceiling)


def call_with_retries(
    action: Callable[[], T],
    is_transient: Callable[[BaseException], bool],
    operation: str,
    settings: RetrySettings | None = None,
) -> T:
    """Call ``action`` until it succeeds, a failure is not transient, or the
    budget runs out.

    Parameters
    ----------
    action : callable
        One attempt of the read.
    is_transient : callable
        Whether a failure may go away on its own.
    operation : str
        The request, for log records, such as ``"GET s3://bucket/key"`` (a
        URL without signature, because log records must carry no secret).
    settings : RetrySettings, optional
        The budget; by default :func:`retry_settings` of this process.

    Raises
    ------
    RetriesExhausted
        From the last transient failure, once ``settings.attempts`` tries
        are spent or the next pause would end after ``budget_seconds``.
    Exception
        A failure that is not transient, unchanged.
    """
    settings = settings or retry_settings()
    began = time.monotonic()
    attempt = 1
    while True:
        try:
            return action()
        except Exception as error:
            if not is_transient(error):
                raise
            failure = error

        elapsed = time.monotonic() - began
        delay = backoff_delay(settings, attempt)
        if attempt >= settings.attempts or elapsed + delay > settings.budget_seconds:
            raise RetriesExhausted(attempt, elapsed, failure) from failure

        logger.debug(
            "%s failed (attempt %d of %d: %s); retrying in %.2f s",
            operation,
            attempt,
            settings.attempts,
            type(failure).__name__,
            delay,
        )
        time.sleep(delay)
        attempt += 1
