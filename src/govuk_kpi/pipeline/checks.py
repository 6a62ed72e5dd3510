"""Checks on a task's inputs and outputs: a failed one stops the task with a clear message.

A message names the check, the data it looked at and what was wrong, e.g.
`check "unique views ≤ page views" failed for analytics 2026-10-30
(data/landing/analytics/analytics-2026-10-30.csv): 1 rows where upviews > pviews:
/renew-adult-passport (upviews 9, pviews 5)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from govuk_kpi.core.errors import GovukKpiError


class CheckFailed(GovukKpiError):
    """An input or output broke a check; the task fails and its downstream tasks do not run."""

    def __init__(self, check: str, data: str, problem: str) -> None:
        self.check = check
        self.data = data
        self.problem = problem
        super().__init__(f'check "{check}" failed for {data}: {problem}')


@dataclass
class Checks:
    """The checks a task ran, in order, for its event line."""

    data: str
    passed: list[str] = field(default_factory=list)

    def require(self, check: str, ok: bool, problem: str = "") -> None:
        """Record `check` as passed, or raise `CheckFailed` naming it, the data and the problem."""
        if not ok:
            raise CheckFailed(check, self.data, problem or "not met")
        self.passed.append(check)

    def at_most_share(self, check: str, part: int, whole: int, share: float, what: str) -> None:
        """`part` of `whole` is at most `share` of it."""
        ok = part <= share * max(whole, 0)
        self.require(check, ok, f"{part} of {whole} {what} ({part / max(whole, 1):.1%}; "
                     f"at most {share:.1%} allowed)")  # fmt: skip

    def not_negative(self, check: str, totals: Mapping[str, float | int | None]) -> None:
        negative = {k: v for k, v in totals.items() if v is not None and v < 0}
        self.require(check, not negative, f"negative totals: {_show(negative.items())}")

    def ratio_in_unit_interval(self, check: str, name: str, value: float | None) -> None:
        """A ratio (satisfaction) is within 0..1; None (no answers) passes."""
        ok = value is None or 0.0 <= value <= 1.0
        self.require(check, ok, f"{name} = {value!r}, outside 0..1")


def _show(items: Iterable[tuple[object, object]], limit: int = 5) -> str:
    items = list(items)
    text = ", ".join(f"{k} {v}" for k, v in items[:limit])
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")


def examples(values: Iterable[str], limit: int = 3) -> str:
    """A few examples of offending data, and how many more."""
    values = list(values)
    text = "; ".join(values[:limit])
    return text + (f"; and {len(values) - limit} more" if len(values) > limit else "")
