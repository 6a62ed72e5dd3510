"""Rollups: monthly sums per page item and per organisation, and the four rolling windows.

Every rollup holds the daily facts of the days up to its as-of date A ("folded") and none
after. A refresh to the newest day with facts B folds only what changed (docs/adr/0006):

- days after A: added to the monthly sums, and to each window they enter;
- days that leave a window as its start moves: subtracted from it;
- days up to A whose facts a load replaced since ("pending"): their facts now, minus what was
  folded of them, which the load kept as a retraction (`retract_days`) before replacing them.

Every delta is a sum of (day, page) figures, and a row whose `days` falls to 0 goes, so the
result equals a full recomputation (`refresh_rollups(engine, full=True)`) row for row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Engine,
    FromClause,
    Integer,
    MetaData,
    Row,
    Select,
    Subquery,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from govuk_kpi.core.metrics import DAILY_METRICS
from govuk_kpi.core.periods import WINDOWS, window_start
from govuk_kpi.sources.registry import DAILY_BATCH_SOURCES, DIMENSION_BATCH_SOURCES
from govuk_kpi.warehouse.batch import utcnow
from govuk_kpi.warehouse.calendar import date_key, date_range, key_to_date, month_key, on_days
from govuk_kpi.warehouse.db import write_transaction
from govuk_kpi.warehouse.models import (
    AggOrganisationMonthly,
    AggPageMonthly,
    AggPageWindow,
    DimDate,
    DimEdition,
    DimMonth,
    FactPageDaily,
    LoadBatch,
    RollupPendingDay,
    RollupRetraction,
    RollupState,
)
from govuk_kpi.warehouse.table_swap import create_replacement, swap_in

DAILY_SOURCES = DAILY_BATCH_SOURCES  # ("analytics", "feedback")
# A page's newest edition decides its organisation: these loads can change it.
DIMENSION_SOURCES = DIMENSION_BATCH_SOURCES  # ("content", "organisations")
MONTHLY = "monthly"
ORGANISATION_MONTHLY = "organisation-monthly"
# PostgreSQL advisory lock: loads that replace facts hold it shared, a refresh exclusively.
_LOCK = 0x676F76756B6B7069  # "govukkpi"
_WORK_MEM = "256MB"


@dataclass
class RollupResult:
    """What a refresh did."""

    as_of: date | None
    months: list[int]
    window_rows: int
    last_batch_id: int
    # The rollups recomputed from all their facts rather than moved on by what changed.
    recomputed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        months = ", ".join(str(m) for m in self.months) or "none"
        text = (
            f"rollups as of {self.as_of}: months refreshed {months}; "
            f"{self.window_rows} window rows; up to batch {self.last_batch_id}"
        )
        if self.recomputed:
            text += f"; recomputed in full: {', '.join(self.recomputed)}"
        return text


def latest_fact_date(connection: Connection) -> date | None:
    """The newest day that has daily facts."""
    key = connection.execute(select(func.max(FactPageDaily.date_key))).scalar()
    return None if key is None else key_to_date(key)


def _newest_batch(connection: Connection, sources: tuple[str, ...]) -> int:
    return connection.execute(
        select(func.coalesce(func.max(LoadBatch.batch_id), 0)).where(
            LoadBatch.source.in_(sources), LoadBatch.status == "loaded"
        )
    ).scalar_one()


def newest_daily_batch(connection: Connection) -> int:
    """The newest successful analytics or feedback batch id, 0 when none."""
    return _newest_batch(connection, DAILY_SOURCES)


def newest_dimension_batch(connection: Connection) -> int:
    """The newest successful content or organisations batch id, 0 when none."""
    return _newest_batch(connection, DIMENSION_SOURCES)


def _room_to_group(connection: Connection) -> None:
    # A delta groups a day's rows by page (550,000 at GOV.UK scale): in memory rather than
    # spilled to disk in batches, unless the server already allows more.
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            "SELECT set_config('work_mem', %(size)s, true) WHERE"
            " pg_size_bytes(current_setting('work_mem')) < pg_size_bytes(%(size)s)",
            {"size": _WORK_MEM},
        )


def _lock(connection: Connection, *, shared: bool) -> None:
    # SQLite needs none: every writer holds the database's write lock from its first statement.
    if connection.dialect.name == "postgresql":
        name = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        connection.execute(select(getattr(func, name)(_LOCK)))


def folded_through(connection: Connection) -> date | None:
    """The day the rollups hold the facts up to (their as-of date), None before any refresh."""
    return connection.execute(
        select(RollupState.as_of).where(RollupState.rollup == MONTHLY)
    ).scalar()


# -- the loaders' hook ------------------------------------------------------------------------


def retract_days(connection: Connection, days: Iterable[date]) -> None:
    """Before a load replaces the facts of `days`: keep what the rollups hold of them.

    Call it in the load's transaction, before its facts change. Days after the rollups'
    as-of date are not in them: nothing to keep, at the cost of one small query. A day kept
    already (pending) is left alone: its facts since were never folded.
    """
    _lock(connection, shared=True)
    folded = folded_through(connection)
    days = sorted({d for d in days if folded is not None and d <= folded})
    if not days:
        return
    pending = set(
        connection.execute(
            select(RollupPendingDay.date_key).where(on_days(RollupPendingDay.date_key, days))
        ).scalars()
    )
    days = [d for d in days if date_key(d) not in pending]
    if not days:
        return
    facts = (
        select(
            FactPageDaily.date_key,
            FactPageDaily.page_id,
            *[func.sum(getattr(FactPageDaily, m)) for m in DAILY_METRICS],
        )
        .where(on_days(FactPageDaily.date_key, days))
        .group_by(FactPageDaily.date_key, FactPageDaily.page_id)
    )
    connection.execute(
        insert(RollupRetraction).from_select(["date_key", "page_id", *DAILY_METRICS], facts)
    )
    connection.execute(insert(RollupPendingDay), [{"date_key": date_key(d)} for d in days])


# -- full recomputation: also what the incremental refresh must equal -------------------------


def _sums(table: FromClause) -> list:
    return [func.sum(table.c[m]).label(m) for m in DAILY_METRICS]


def monthly_select() -> Select:
    """agg_page_monthly from the daily facts: (month_key, page_id, *metrics, days)."""
    facts = FactPageDaily.__table__
    return (
        select(
            DimDate.month_key,
            facts.c.page_id,
            *_sums(facts),
            func.count(func.distinct(facts.c.date_key)).label("days"),
        )
        .select_from(facts)
        .join(DimDate, DimDate.date_key == facts.c.date_key)
        .group_by(DimDate.month_key, facts.c.page_id)
    )


def window_select(window: str, as_of: date) -> Select:
    """One window of agg_page_window from the daily facts: (window, page_id, *metrics, days)."""
    facts = FactPageDaily.__table__
    span = (date_key(window_start(window, as_of)), date_key(as_of))
    return (
        select(
            literal(window).label("window"),
            facts.c.page_id,
            *_sums(facts),
            func.count(func.distinct(facts.c.date_key)).label("days"),
        )
        .where(facts.c.date_key.between(*span))
        .group_by(facts.c.page_id)
    )


def organisation_monthly_select(monthly: FromClause) -> Select:
    """agg_organisation_monthly from monthly sums per page (the table, or `monthly_select`)."""
    organisation = func.coalesce(DimEdition.primary_organisation_key, 0)
    return (
        select(
            monthly.c.month_key,
            organisation.label("organisation_key"),
            *_sums(monthly),
            func.count().label("pages"),
        )
        .select_from(monthly)
        .join(DimEdition, and_(DimEdition.page_id == monthly.c.page_id, DimEdition.is_latest))
        .group_by(monthly.c.month_key, organisation)
    )


_MONTHLY_COLUMNS = ["month_key", "page_id", *DAILY_METRICS, "days"]
_WINDOW_COLUMNS = ["window", "page_id", *DAILY_METRICS, "days"]
_ORGANISATION_COLUMNS = ["month_key", "organisation_key", *DAILY_METRICS, "pages"]


def _months_with_facts(connection: Connection) -> list[Row[Any]]:  # rows of dim_month
    span = connection.execute(
        select(func.min(FactPageDaily.date_key), func.max(FactPageDaily.date_key))
    ).one()
    if span[0] is None:
        return []
    first, last = key_to_date(span[0]), key_to_date(span[1])
    return list(
        connection.execute(
            select(DimMonth)
            .where(DimMonth.last_day >= first, DimMonth.first_day <= last)
            .order_by(DimMonth.month_key)
        ).all()
    )


def refresh_monthly(connection: Connection) -> list[int]:
    """Recompute `agg_page_monthly` from all the daily facts; returns the months it holds.

    A month at a time, each read by its range of the facts' key: at GOV.UK scale one
    statement over every fact would sort 200 million rows to count distinct days.
    """
    connection.execute(delete(AggPageMonthly))
    facts = FactPageDaily.__table__
    for month in _months_with_facts(connection):
        span = (date_key(month.first_day), date_key(month.last_day))
        query = monthly_select().where(facts.c.date_key.between(*span))
        connection.execute(insert(AggPageMonthly).from_select(_MONTHLY_COLUMNS, query))
    return list(
        connection.execute(
            select(AggPageMonthly.month_key).distinct().order_by(AggPageMonthly.month_key)
        ).scalars()
    )


def window_rows(connection: Connection, window: str, as_of: date) -> Select:
    """One rolling window ending on `as_of`, recomputed: rows of `_WINDOW_COLUMNS`.

    The whole months inside it come from `agg_page_monthly` (current by then: monthly sums
    are refreshed first), the part-months at its ends from the daily facts; days add up
    across months, as each day lies in one. At GOV.UK scale the past year is then 12 × 550k
    monthly rows and a few weeks of facts, not 200 million facts.
    """
    first = window_start(window, as_of)
    whole = connection.execute(
        select(DimMonth.month_key, DimMonth.first_day, DimMonth.last_day)
        .where(DimMonth.first_day >= first, DimMonth.last_day <= as_of)
        .order_by(DimMonth.month_key)
    ).all()
    if not whole:
        return window_select(window, as_of)
    facts = FactPageDaily.__table__
    edges = or_(
        facts.c.date_key.between(date_key(first), date_key(whole[0].first_day) - 1),
        facts.c.date_key.between(date_key(whole[-1].last_day) + 1, date_key(as_of)),
    )
    monthly = AggPageMonthly.__table__
    in_whole_months = monthly.c.month_key.in_([m.month_key for m in whole])
    sums = [monthly.c[m] for m in DAILY_METRICS]
    parts = union_all(
        select(monthly.c.page_id, *sums, monthly.c.days).where(in_whole_months),
        select(
            facts.c.page_id,
            *_sums(facts),
            func.count(func.distinct(facts.c.date_key)).label("days"),
        )
        .where(edges)
        .group_by(facts.c.page_id),
    ).subquery("parts")
    return select(
        literal(window).label("window"),
        parts.c.page_id,
        *_sums(parts),
        func.sum(parts.c.days).label("days"),
    ).group_by(parts.c.page_id)


def refresh_window(connection: Connection, window: str, as_of: date) -> None:
    """Recompute one rolling window ending on `as_of` (see `window_rows`)."""
    connection.execute(delete(AggPageWindow).where(AggPageWindow.window == window))
    query = window_rows(connection, window, as_of)
    connection.execute(insert(AggPageWindow).from_select(_WINDOW_COLUMNS, query))


def refresh_organisation_monthly(connection: Connection) -> None:
    """Recompute `agg_organisation_monthly` from `agg_page_monthly` (a few seconds at scale)."""
    connection.execute(delete(AggOrganisationMonthly))
    query = organisation_monthly_select(AggPageMonthly.__table__)
    connection.execute(insert(AggOrganisationMonthly).from_select(_ORGANISATION_COLUMNS, query))


# -- deltas ------------------------------------------------------------------------------------


def _sign(column, signs: Mapping[date, int]):
    """+1 or -1 by day, as SQL: a literal when every day has the same sign."""
    by_sign: dict[int, list[date]] = {}
    for day, sign in signs.items():
        by_sign.setdefault(sign, []).append(day)
    if len(by_sign) == 1:
        return literal_column(str(next(iter(by_sign))), Integer)
    whens = [
        (on_days(column, days), literal_column(str(s), Integer)) for s, days in by_sign.items()
    ]
    return case(*whens)


def _changes(signs: Mapping[date, int], retracted: Collection[date]) -> Subquery | None:
    """Rows of (date_key, page_id, *metrics, sign) whose sums per page make the delta.

    Each fact row of a day in `signs` with its metrics times that day's sign; then each
    retraction row of a day in `retracted`, negated (sign -1). See `_summed` for `days`.
    """
    signs = {day: sign for day, sign in signs.items() if sign}
    parts = []
    if signs:
        facts = FactPageDaily.__table__
        sign = _sign(facts.c.date_key, signs)
        parts.append(
            select(
                facts.c.date_key,
                facts.c.page_id,
                *[(facts.c[m] * sign).label(m) for m in DAILY_METRICS],
                sign.label("sign"),
            ).where(on_days(facts.c.date_key, signs))
        )
    if retracted:
        kept = RollupRetraction.__table__
        parts.append(
            select(
                kept.c.date_key,
                kept.c.page_id,
                *[(-kept.c[m]).label(m) for m in DAILY_METRICS],
                literal_column("-1", Integer).label("sign"),
            ).where(on_days(kept.c.date_key, retracted))
        )
    if not parts:
        return None
    return union_all(*parts).subquery("changes")


def _summed(changes: FromClause, count: str) -> list:
    """The delta columns of a select grouped over `changes`: the metrics' sums, and `count`.

    `count` (the change in days with facts) counts distinct days, so that a page with two
    editions on a day counts it once: the days it has facts on that were added, less those
    taken away. (On PostgreSQL, the distinct counts also make it sort rather than hash: for a
    day's 550,000 pages, some twice as fast, and in the primary key's order for the upsert.)
    """
    sums = [func.sum(changes.c[m]).label(m) for m in DAILY_METRICS]

    def days(added: bool):
        signed = changes.c.sign > 0 if added else changes.c.sign < 0
        return func.count(func.distinct(case((signed, changes.c.date_key))))

    return [*sums, (days(True) - days(False)).label(count)]


def _any_change(columns: list) -> ColumnElement[bool]:
    """HAVING: an all-zero delta would only rewrite a row as it was."""
    return or_(*(column.element != 0 for column in columns))


def _upsert(connection: Connection, table: Table, keys: list[str], columns: list[str], query):
    """Add `query`'s rows to `table`: insert new keys, add the counters of existing ones."""
    dialect_insert: dict[str, Callable[[Table], postgresql.Insert | sqlite.Insert]] = {
        "postgresql": postgresql.insert,
        "sqlite": sqlite.insert,
    }
    statement = dialect_insert[connection.dialect.name](table).from_select(columns, query)
    counters = [c for c in columns if c not in keys]
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=keys,
            set_={c: table.c[c] + statement.excluded[c] for c in counters},
        )
    )


# The monthly delta, kept for the organisation rollup's delta too.
_DELTA = Table(
    "rollup_monthly_delta",
    MetaData(),
    Column("month_key", Integer),
    Column("page_id", Integer),
    *[Column(m, BigInteger) for m in DAILY_METRICS],
    Column("days", Integer),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


def _advance_monthly(
    connection: Connection,
    folded: date,
    as_of: date,
    pending: list[date],
    *,
    organisations: bool,
) -> list[int]:
    """Fold pending days and the days after `folded` into the monthly rollups.

    With `organisations`, agg_organisation_monthly gets the same deltas by each page's
    organisation. Returns the months changed.
    """
    days = [*pending, *date_range(folded + timedelta(days=1), as_of)]
    changes = _changes(dict.fromkeys(days, 1), pending)
    if changes is None:
        return []
    months = sorted({month_key(d) for d in days})
    monthly = cast(Table, AggPageMonthly.__table__)
    columns = _summed(changes, "days")
    delta = (
        select(DimDate.month_key, changes.c.page_id, *columns)
        .select_from(changes)
        .join(DimDate, DimDate.date_key == changes.c.date_key)
        .group_by(DimDate.month_key, changes.c.page_id)
        .having(_any_change(columns))
    )
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {_DELTA.name}")
    _DELTA.create(connection)
    connection.execute(insert(_DELTA).from_select(_MONTHLY_COLUMNS, delta))
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"ANALYZE {_DELTA.name}")  # temporary tables get no autovacuum
    # WHERE true: SQLite would read the ON of ON CONFLICT as a join's. In key order: an upsert
    # that walks the primary key in order takes half the time of one that jumps about.
    everything = (
        select(*[_DELTA.c[c] for c in _MONTHLY_COLUMNS])
        .where(true())
        .order_by(_DELTA.c.month_key, _DELTA.c.page_id)
    )
    _upsert(connection, monthly, ["month_key", "page_id"], _MONTHLY_COLUMNS, everything)
    if organisations:
        _advance_organisation_monthly(connection, months)
    if pending:  # only a retraction can take a page's last day in a month away
        connection.execute(
            delete(AggOrganisationMonthly).where(
                AggOrganisationMonthly.month_key.in_(months), AggOrganisationMonthly.pages == 0
            )
        )
        connection.execute(
            delete(AggPageMonthly).where(
                AggPageMonthly.month_key.in_(months), AggPageMonthly.days == 0
            )
        )
    _DELTA.drop(connection)
    return months


def _advance_organisation_monthly(connection: Connection, months: list[int]) -> None:
    """Add the monthly delta (now in agg_page_monthly) by the organisation of each page."""
    monthly = AggPageMonthly.__table__
    after = func.coalesce(monthly.c.days, 0)
    before = after - _DELTA.c.days
    # A page counts in `pages` while its month has days: +1 when it gains its first, -1 when
    # it loses its last.
    appeared = case((after > 0, 1), else_=0) - case((before > 0, 1), else_=0)
    organisation = func.coalesce(DimEdition.primary_organisation_key, 0)
    columns = [
        *[func.sum(_DELTA.c[m]).label(m) for m in DAILY_METRICS],
        func.sum(appeared).label("pages"),
    ]
    delta = (
        select(_DELTA.c.month_key, organisation.label("organisation_key"), *columns)
        .select_from(_DELTA)
        .join(DimEdition, and_(DimEdition.page_id == _DELTA.c.page_id, DimEdition.is_latest))
        .outerjoin(
            monthly,
            and_(
                # Naming the months lets PostgreSQL read just them, not all 13 (8M rows).
                monthly.c.month_key.in_(months),
                monthly.c.month_key == _DELTA.c.month_key,
                monthly.c.page_id == _DELTA.c.page_id,
            ),
        )
        .group_by(_DELTA.c.month_key, organisation)
        .having(_any_change(columns))
    )
    table = cast(Table, AggOrganisationMonthly.__table__)
    _upsert(connection, table, ["month_key", "organisation_key"], _ORGANISATION_COLUMNS, delta)


def _window_plan(
    window: str, folded: date, as_of: date, pending: list[date]
) -> tuple[dict[date, int], list[date]] | None:
    """The signed days that move `window` from `folded` to `as_of`, and the retracted days.

    None when reading them would cost as much as recomputing the window.
    """
    old_start, new_start = window_start(window, folded), window_start(window, as_of)
    retracted = [d for d in pending if old_start <= d]
    signs: Counter[date] = Counter(dict.fromkeys(retracted, 1))
    signs.update(date_range(max(folded + timedelta(days=1), new_start), as_of))
    signs.subtract(date_range(old_start, min(new_start - timedelta(days=1), folded)))
    read = len(retracted) + sum(1 for s in signs.values() if s)
    if read >= (as_of - new_start).days + 1:
        return None
    return dict(signs), retracted


def _advance_window(
    connection: Connection, window: str, folded: date, as_of: date, pending: list[date]
) -> bool:
    """Move `window` on from `folded` to `as_of`; False when it had to be recomputed."""
    plan = _window_plan(window, folded, as_of, pending)
    if plan is None:
        refresh_window(connection, window, as_of)
        return False
    changes = _changes(*plan)
    if changes is None:
        return True
    # One statement per window: the days entering, leaving and refolded, each with its sign,
    # in key order (see `_advance_monthly`).
    columns = _summed(changes, "days")
    delta = (
        select(literal(window).label("window"), changes.c.page_id, *columns)
        .group_by(changes.c.page_id)
        .having(_any_change(columns))
        .order_by(changes.c.page_id)
    )
    table = cast(Table, AggPageWindow.__table__)
    _upsert(connection, table, ["window", "page_id"], _WINDOW_COLUMNS, delta)
    signs, retracted = plan
    if retracted or min(signs.values(), default=0) < 0:  # days left: a page's may reach 0
        connection.execute(
            delete(AggPageWindow).where(AggPageWindow.window == window, AggPageWindow.days == 0)
        )
    return True


def _moved_window(window: str, plan: tuple[dict[date, int], list[date]]) -> Select:
    """The rows of `window` after the plan's days: its rows now plus the delta, by page."""
    table = AggPageWindow.__table__
    old = select(*[table.c[c] for c in _WINDOW_COLUMNS]).where(table.c.window == window)
    changes = _changes(*plan)
    if changes is None:
        return old
    now = old.subquery("now")
    by_page = select(changes.c.page_id, *_summed(changes, "days")).group_by(changes.c.page_id)
    delta = by_page.subquery("delta")

    def plus(column: str):
        return func.coalesce(now.c[column], 0) + func.coalesce(delta.c[column], 0)

    return (
        select(
            literal(window).label("window"),
            func.coalesce(now.c.page_id, delta.c.page_id).label("page_id"),
            *[plus(m).label(m) for m in DAILY_METRICS],
            plus("days").label("days"),
        )
        .select_from(now.join(delta, delta.c.page_id == now.c.page_id, full=True))
        .where(plus("days") > 0)
    )


def _advance_windows(
    connection: Connection, folded: date, as_of: date, pending: list[date]
) -> list[str]:
    """Move every window on from `folded` to `as_of`; returns those that were recomputed.

    A new day changes most pages' rows in every window (2.2 million rows at GOV.UK scale).
    On PostgreSQL the windows are written afresh into a copy of the table, indexed after
    and swapped in (`table_swap`): about half the time of updating them in place, with no
    dead rows left. SQLite updates them in place, which at its scale takes seconds.
    """
    if connection.dialect.name != "postgresql":
        return [w for w in WINDOWS if not _advance_window(connection, w, folded, as_of, pending)]
    table = cast(Table, AggPageWindow.__table__)
    replacement = create_replacement(connection, table)
    recomputed = []
    for window in WINDOWS:
        plan = _window_plan(window, folded, as_of, pending)
        if plan is None:
            query = window_rows(connection, window, as_of)
            recomputed.append(window)
        else:
            query = _moved_window(window, plan)
        connection.execute(insert(replacement).from_select(_WINDOW_COLUMNS, query))
    swap_in(connection, table, replacement)
    return recomputed


# -- refresh -----------------------------------------------------------------------------------


def _incremental_from(states: Mapping[str, Row[Any]]) -> date | None:  # rows of rollup_state
    """The as-of date every page rollup was folded to, or None when one needs recomputing."""
    monthly = states.get(MONTHLY)
    folded = monthly.as_of if monthly is not None else None
    if folded is None:
        return None
    for window in WINDOWS:
        state = states.get(window)
        if state is None or (state.as_of, state.date_from) != (
            folded,
            window_start(window, folded),
        ):
            return None
    return folded


def _set_state(
    connection: Connection,
    rollup: str,
    as_of: date | None,
    first: date | None,
    batch: int,
    content_batch: int | None = None,
) -> None:
    values = {
        "as_of": as_of,
        "date_from": first,
        "last_batch_id": batch,
        "refreshed_at": utcnow(),
        "content_batch_id": content_batch,
    }
    done = connection.execute(
        update(RollupState).where(RollupState.rollup == rollup).values(**values)
    )
    if done.rowcount == 0:
        connection.execute(insert(RollupState), [{"rollup": rollup, **values}])


def refresh_rollups(engine: Engine, *, full: bool = False) -> RollupResult:
    """Bring every rollup up to date with the daily facts, in one transaction.

    Incremental (see the module's docstring) unless `full`, or there is nothing to start from
    (no earlier refresh, or facts removed from the newest days).
    """
    with write_transaction(engine) as connection:
        _lock(connection, shared=False)
        _room_to_group(connection)
        newest = newest_daily_batch(connection)
        content = newest_dimension_batch(connection)
        states = {s.rollup: s for s in connection.execute(select(RollupState)).all()}
        as_of = latest_fact_date(connection)
        folded = None if full else _incremental_from(states)
        if folded is None or as_of is None or as_of < folded:
            months = refresh_monthly(connection)
            refresh_organisation_monthly(connection)
            connection.execute(delete(AggPageWindow))
            for window in WINDOWS if as_of is not None else ():
                refresh_window(connection, window, cast(date, as_of))  # not None here
            recomputed = [MONTHLY, ORGANISATION_MONTHLY, *WINDOWS]
        else:
            pending = [
                key_to_date(k)
                for k in connection.execute(
                    select(RollupPendingDay.date_key)
                    .where(RollupPendingDay.date_key <= date_key(folded))
                    .order_by(RollupPendingDay.date_key)
                ).scalars()
            ]
            organisations = states.get(ORGANISATION_MONTHLY)
            incremental = (
                organisations is not None
                and organisations.as_of == folded
                and organisations.content_batch_id == content
            )
            months = _advance_monthly(connection, folded, as_of, pending, organisations=incremental)
            recomputed = []
            if not incremental:
                # A content load may have moved pages to other organisations.
                refresh_organisation_monthly(connection)
                recomputed.append(ORGANISATION_MONTHLY)
            recomputed += _advance_windows(connection, folded, as_of, pending)
        connection.execute(delete(RollupRetraction))
        connection.execute(delete(RollupPendingDay))
        _set_state(connection, MONTHLY, as_of, None, newest)
        _set_state(connection, ORGANISATION_MONTHLY, as_of, None, newest, content)
        if as_of is not None:
            for window in WINDOWS:
                _set_state(connection, window, as_of, window_start(window, as_of), newest)
        rows = connection.execute(select(func.count()).select_from(AggPageWindow)).scalar_one()
        return RollupResult(as_of, months, rows, newest, recomputed)


def stale_rollups(connection: Connection) -> list[str]:
    """Rollups that have not seen the newest daily batch (or never ran).

    The organisation rollup is also stale when a content or organisations batch came after
    it: pages may have moved to other organisations.
    """
    newest = newest_daily_batch(connection)
    states = {s.rollup: s for s in connection.execute(select(RollupState)).all()}
    stale = [
        name
        for name in (MONTHLY, *WINDOWS)
        if name not in states or states[name].last_batch_id < newest
    ]
    if not organisation_monthly_is_fresh(connection):
        stale.append(ORGANISATION_MONTHLY)
    return stale


def organisation_monthly_is_fresh(connection: Connection) -> bool:
    """Whether agg_organisation_monthly has seen the newest daily and content batches."""
    state = connection.execute(
        select(RollupState).where(RollupState.rollup == ORGANISATION_MONTHLY)
    ).first()
    return (
        state is not None
        and state.last_batch_id >= newest_daily_batch(connection)
        and (state.content_batch_id or 0) >= newest_dimension_batch(connection)
    )
