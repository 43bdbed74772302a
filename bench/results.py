"""Timed runs and peak memory of the benchmarked methods, per case."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from cases import Case


@dataclass
class CaseResult:
    """Timed runs and peak RSS increases (bytes) of every method on one case.

    ``wall`` and ``user`` hold each method's run times in seconds, measured
    around the same runs with ``time.perf_counter`` and as user CPU time
    (``getrusage`` ``ru_utime``, which leaves out the kernel's time).
    """

    case: Case
    size: int
    wall: dict[str, list[float]]
    user: dict[str, list[float]]
    agreement: str
    peak_rss: dict[str, int] = field(default_factory=dict)

    def median(self, method: str, clock: str = "wall") -> float:
        """Median run time of ``method`` in seconds on ``clock`` (wall or user)."""
        return statistics.median(self._runs(clock)[method])

    def spread(self, method: str) -> tuple[float, float]:
        """Shortest and longest wall-clock run of ``method`` in seconds."""
        runs = self.wall[method]
        return min(runs), max(runs)

    def time_ratio(
        self, numerator: str, denominator: str, clock: str = "wall"
    ) -> float:
        """Ratio of the median run times of two methods."""
        return self.median(numerator, clock) / self.median(denominator, clock)

    def memory_ratio(self, numerator: str, denominator: str) -> float | None:
        """Ratio of the peak RSS increases, or None where either is unmeasured."""
        top = self.peak_rss.get(numerator)
        bottom = self.peak_rss.get(denominator)
        if top is None or not bottom:
            return None
        return top / bottom

    def _runs(self, clock: str) -> dict[str, list[float]]:
        if clock not in ("wall", "user"):
            raise ValueError(f"invalid clock {clock!r}: expected 'wall' or 'user'")
        return self.wall if clock == "wall" else self.user


def format_ratio(value: float | None) -> str:
    """Format a ratio for a table, or "n/a" for None.

    Ratios of 10 and more get no decimals, ratios down to 0.1 get 2, and
    smaller ones 2 significant digits (0.0043), so none prints as 0.00.
    """
    if value is None:
        return "n/a"
    if value >= 10:
        return f"{value:.0f}"
    if value >= 0.1:
        return f"{value:.2f}"
    return f"{value:.2g}"
