"""The inventory benchmark's figures are medians of its runs, figure by figure."""

from __future__ import annotations

from bench.inventory import Cost, median_cost, spread_figure

RUNS = [Cost(2.9, 1.0, 2.0, 4040), Cost(2.1, 2.2, 1.5, 4040), Cost(2.5, 1.8, 1.7, 4041)]


def test_each_figure_is_its_own_median_not_one_runs():
    assert median_cost(RUNS) == Cost(2.5, 1.8, 1.7, 4040)


def test_the_figure_shows_the_median_and_every_runs_wall_in_order():
    figure = spread_figure(RUNS)
    assert figure.startswith("2.50 s wall, client CPU 1.80 s, simulator CPU 1.70 s")
    assert figure.endswith("walls 2.90, 2.10, 2.50 s")
