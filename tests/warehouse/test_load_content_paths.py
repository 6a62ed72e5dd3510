"""Page views recorded at a percent-escaped path match the page the Content API holds in UTF-8."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

from govuk_kpi.core.data import govuk_data_dir
from govuk_kpi.warehouse.db import get_engine, upgrade
from govuk_kpi.warehouse.load_files import load_content_path, load_daily_path

HEADER = "date,path,pviews,upviews,useful_yes,useful_no,searches,entrances,exits,bounces,page_time"


def test_escaped_analytics_paths_match_utf8_base_paths(db_url: str, tmp_path: Path) -> None:
    # A real Spanish case study, published at its title's words as GOV.UK's world pages are.
    source = govuk_data_dir() / "content-items" / "case_study" / "doing-business-in-spain.json"
    doc = json.loads(source.read_text(encoding="utf-8"))
    doc["base_path"] = "/government/case-studies/qué-puede-hacer-ukti-por-tí.es"
    item = tmp_path / "item.json"
    item.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    upgrade(db_url)
    engine = get_engine(db_url)
    load_content_path(engine, item, observed_at=datetime(2026, 10, 1))
    analytics = tmp_path / "analytics.csv"
    analytics.write_text(
        f"{HEADER}\n"
        "2026-10-30,/government/case-studies/qu%C3%A9-puede-hacer-ukti-por-t%C3%AD.es,"
        "10,9,1,0,0,5,4,3,60\n"
        "2026-10-30,https://www.gov.uk/government/case-studies/qu%c3%a9-puede-hacer-ukti-por-"
        "t%c3%ad.es?utm_source=x,5,5,0,0,0,2,2,1,30\n",
        encoding="utf-8",
    )
    result = load_daily_path(engine, analytics, "analytics", today=date(2026, 11, 1))
    # Both spellings are one page: summed into one matched row, none unmatched.
    assert (result.rows_loaded, result.rows_unmatched) == (1, 0)
