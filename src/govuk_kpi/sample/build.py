"""Build the sample warehouse: real content and organisations, generated daily usage.

Every step is an idempotent load batch, so building twice changes nothing, and the
generated files are byte-identical for a seed, so their hashes match too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from govuk_kpi.core.data import govuk_data_dir
from govuk_kpi.sample.generate import (
    DEFAULT_AS_OF,
    DEFAULT_SEED,
    SampleManifest,
    copy_real_content_items,
    generate_sample,
    pages_from_content_dir,
)
from govuk_kpi.warehouse.batch import BatchResult
from govuk_kpi.warehouse.db import get_engine, upgrade
from govuk_kpi.warehouse.load_files import (
    load_content_path,
    load_daily_path,
    load_organisations_path,
)
from govuk_kpi.warehouse.rollups import RollupResult, refresh_rollups

GENERATED_NOTICE = (
    "Page views, unique page views, useful answers, searches and feedback counts in the sample "
    "warehouse are GENERATED sample data (seeded, calibrated on real GOV.UK figures), not real "
    "GOV.UK usage."
)


@dataclass
class SampleBuild:
    """What building the sample did."""

    manifest: SampleManifest
    batches: list[BatchResult] = field(default_factory=list)
    rollup: RollupResult | None = None


def build_sample(
    url: str | None = None,
    *,
    out_dir: Path = Path("data/generated/sample"),
    as_of: date = DEFAULT_AS_OF,
    seed: int = DEFAULT_SEED,
    days: int | None = None,
    progress: Callable[[str], None] = lambda _step: None,
) -> SampleBuild:
    """Generate the sample's usage files and load everything into the warehouse at `url`."""
    # Paths inside the working folder are recorded relative to it (as batch URIs, and so in
    # the reports' manifests): two checkouts building the same sample record the same.
    data, out_dir = _from_here(govuk_data_dir()), _from_here(out_dir)
    engine = get_engine(url)
    progress("schema")
    upgrade(url)
    progress("generate")
    # Only real pages: the schema examples among the content items are left out.
    content = copy_real_content_items(data / "content-items", out_dir)
    manifest = generate_sample(
        pages_from_content_dir(content),
        out_dir,
        as_of=as_of,
        seed=seed,
        days=days,
        data_dir=data,
    )
    build = SampleBuild(manifest)
    start = datetime.combine(manifest.start, time())
    progress("organisations")
    build.batches.append(
        load_organisations_path(engine, data / "organisations" / "organisations.json")
    )
    progress("content")
    build.batches.append(load_content_path(engine, content, observed_at=start))
    for day, changed in manifest.content_updates:
        # An edition change becomes visible at 09:00 on its day, as the generator dated it.
        build.batches.append(
            load_content_path(engine, changed, observed_at=datetime.combine(day, time(9)))
        )
    for file in manifest.analytics_files:
        progress(f"analytics {file.name}")
        build.batches.append(load_daily_path(engine, file, "analytics", today=as_of))
    for file in manifest.feedback_files:
        progress(f"feedback {file.name}")
        build.batches.append(load_daily_path(engine, file, "feedback", today=as_of))
    progress("rollups")
    build.rollup = refresh_rollups(engine)
    return build


def _from_here(path: Path) -> Path:
    """`path` relative to the working folder when it lies inside it, else as it is."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return Path(path)
