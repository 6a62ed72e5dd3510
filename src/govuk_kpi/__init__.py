"""govuk-kpi: a data warehouse of facts about GOV.UK pages over time.

>>> from govuk_kpi import Warehouse
>>> Warehouse().content(organisation="hm-revenue-customs", period="past-30-days")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from govuk_kpi.kpi import Warehouse

__all__ = ["Warehouse"]


def __getattr__(name: str) -> Any:
    # Lazy, so `govuk_kpi.sources` can be imported without the database stack.
    if name == "Warehouse":
        from govuk_kpi.kpi import Warehouse

        return Warehouse
    raise AttributeError(name)
