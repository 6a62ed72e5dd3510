"""The traffic model both generators draw from (govuk_kpi.sample.traffic)."""

from __future__ import annotations

import numpy as np
import pytest

from govuk_kpi.core.data import govuk_data_dir
from govuk_kpi.core.paths import normalise_path
from govuk_kpi.sample import traffic


def test_a_week_averages_one_day() -> None:
    assert traffic.week_shape(np.arange(7)).sum() == pytest.approx(7.0)


def test_the_homepage_ranks_first_and_withdrawn_pages_lower() -> None:
    weights = traffic.rank_weights(
        ["guide", "guide", "news_story", "redirect"],
        np.array([True, False, False, False]),
        np.array([False, True, False, False]),
    )
    assert weights.tolist() == [traffic.HOMEPAGE_WEIGHT, 20.0 * 0.3, 1.0, 0.2]


@pytest.mark.parametrize("kind", range(4))
@pytest.mark.parametrize("path", ["/", "/vehicle-tax", "/guidance/café"])
def test_a_variant_path_normalises_back(path: str, kind: int) -> None:
    assert normalise_path(traffic.variant_path(path, kind)) == path


def test_spikes_start_on_their_day_and_decay() -> None:
    after = np.arange(-2, 10)
    spike = traffic.news_spike(700.0, after)
    assert spike[:2].tolist() == [0.0, 0.0]
    assert spike[2:9].sum() == pytest.approx(700.0)
    assert np.all(np.diff(spike[2:]) < 0)
    factor = traffic.trending_factor(after, 3.0)
    assert factor[:2].tolist() == [1.0, 1.0]
    assert factor[2] == pytest.approx(3.0)


def test_the_figures_are_thinnings_of_the_page_views() -> None:
    cal = traffic.load_calibration(govuk_data_dir())
    n = 50
    rates = traffic.page_rates(
        cal,
        np.zeros(n, dtype=np.int64),
        np.full(n, 0.4),
        traffic.seconds_per_view(np.full(n, 500)),
    )
    for order in (traffic.GENERATE_DRAW_ORDER, traffic.SCALE_DRAW_ORDER):
        values = traffic.draw_metrics(
            np.random.default_rng(1), np.full(n, 1000.0), rates, 10.0, n, order
        )
        assert np.all(values["upviews"] <= values["pviews"])
        assert np.all(values["useful_yes"] + values["useful_no"] <= values["upviews"])
        assert np.all(values["bounces"] <= values["entrances"])
        assert np.all(values["entrances"] <= values["upviews"])
