"""The geometry behind the pages' SVG charts and the layer table, worked out by hand."""

from __future__ import annotations

import pytest

from app.display import error, percent
from app.schemas import CheckOutput, LayerReport
from app.web.charts import AxisLabel, ErrorPoint, channel_chart, error_chart, share_bar
from app.web.check_view import output_view
from app.web.layer_view import OPEN_UP_TO, LayerFilter, layer_table
from tests.support.pages import bare_layer


def test_share_bar_spans_a_thousand_units_of_the_total():
    bar = share_bar(trainable=1_024, non_trainable=1_024, total=4_096)
    assert (bar.trainable_width, bar.non_trainable_width, bar.non_trainable_x) == (250, 250, 250)


def test_share_bar_keeps_a_tiny_share_visible_and_an_empty_one_empty():
    bar = share_bar(trainable=0, non_trainable=1, total=1_000_000)
    assert (bar.trainable_width, bar.non_trainable_width) == (0.0, 2.0)


def test_error_chart_places_errors_on_decades_from_1e_minus_9_to_1():
    points = [ErrorPoint("a", 1e-6, "passed"), ErrorPoint("b", 1e-2, "failed", first=True)]
    chart = error_chart(points, tolerance=1e-4)
    # 9 decades over 100 units: 1e-6 is 3 decades up (y 66.667), 1e-2 7 up (y 22.222).
    assert [bar.y for bar in chart.bars] == [66.667, 22.222]
    assert [bar.height for bar in chart.bars] == [33.333, 77.778]
    assert chart.tolerance_y == 44.444
    assert chart.width == 20  # a 10-unit slot per layer
    assert [bar.x for bar in chart.bars] == [1.5, 11.5]
    assert [t.label for t in chart.ticks] == ["1", "1e-3", "1e-6", "1e-9"]
    assert [t.top for t in chart.ticks] == [0.0, 33.33, 66.67, 100.0]


def test_error_chart_widens_its_scale_to_tiny_and_large_errors():
    chart = error_chart([ErrorPoint("a", 3e-12, "passed"), ErrorPoint("b", 40.0, "failed")], None)
    # 1e-12 .. 1e2: 14 decades; 40 is log10(40) = 1.602 → 13.602 of 14 up.
    assert chart.bars[1].y == pytest.approx(100 * (1 - 13.60206 / 14), abs=1e-3)
    assert chart.tolerance_y is None
    assert [t.label for t in chart.ticks] == ["1e2", "1e-1", "1e-4", "1e-7", "1e-10"]


def test_error_chart_shows_an_exact_zero_and_an_uncompared_layer_as_slivers():
    chart = error_chart(
        [ErrorPoint("a", 0.0, "passed"), ErrorPoint("b", None, "not_compared")], 1e-4
    )
    assert [(bar.y, bar.height) for bar in chart.bars] == [(99, 1), (98, 2)]


def test_channel_chart_steps_through_values_around_zero():
    chart = channel_chart([1.0, -1.0, 0.5], flagged=[1, 7])
    # -1 .. 1 over 96 units below a 4-unit headroom: 1 → y 4, 0 → y 52, -1 → y 100, 0.5 → y 28.
    assert chart.area == "M0 52.0V4.0H1V100.0H2V28.0H3V52.0Z"
    assert chart.zero_y == 52.0
    assert chart.flagged == [1]  # channel 7 is not drawn
    assert (chart.top, chart.bottom, chart.width) == (1.0, -1.0, 3)


def test_channel_chart_labels_its_ends_and_zero_where_they_clear_each_other():
    chart = channel_chart([1.0, -1.0, 0.5])
    # 1 at y 4, 0 at y 52, -1 at y 100: 48 hundredths apart, all three fit.
    assert chart.labels == [AxisLabel(1.0, 4.0), AxisLabel(0.0, 52.0), AxisLabel(-1.0, 100.0)]


def test_channel_chart_drops_the_zero_label_too_close_to_an_end():
    # A real shift (MobileNetV2's block_2_project_BN): -4.113 .. 21.7 puts 0 at
    # y 100 - 4.113 / 25.813 · 96 = 84.70, 15.3 hundredths above the -4.113 label at 100.
    chart = channel_chart([21.7, -4.113])
    assert chart.zero_y == 84.7
    assert chart.labels == [AxisLabel(21.7, 4.0), AxisLabel(-4.113, 100.0)]
    # Near the top: 0.03 .. -0.1863 puts 0 at y 4 + 0.03 / 0.2163 · 96 = 17.31.
    chart = channel_chart([0.03, -0.1863])
    assert chart.zero_y == 17.31
    assert chart.labels == [AxisLabel(0.03, 4.0), AxisLabel(-0.1863, 100.0)]


def test_channel_chart_of_positive_values_labels_zero_at_the_bottom():
    assert channel_chart([2.0, 1.0]).labels == [AxisLabel(2.0, 4.0), AxisLabel(0.0, 100.0)]
    assert channel_chart([0.0, 0.0]).labels == [AxisLabel(0.0, 100.0)]  # no made-up 1 on top


def test_channel_chart_puts_a_value_that_is_not_a_number_on_zero_and_flags_it():
    chart = channel_chart([1.0, None, -1.0], flagged=[0])
    # the scale is the finite values' (-1 .. 1): None sits on the zero line, y 52
    assert chart.area == "M0 52.0V4.0H1V52.0H2V100.0H3V52.0Z"
    assert chart.flagged == [0, 1]


def test_channel_chart_of_zeros_keeps_a_unit_scale():
    chart = channel_chart([0.0, 0.0])
    assert chart.area == "M0 100.0V100.0H1V100.0H2V100.0Z"
    assert (chart.top, chart.bottom) == (1.0, 0.0)


def test_output_view_indexes_values_by_the_output_shape():
    output = CheckOutput(name="y", shape=[2, 2], reference=[[1, 2], [3, 4]], keras=[[1, 2], [3, 5]])
    view = output_view(output, limit=3)
    assert [(r.index, r.ours, r.keras) for r in view.rows] == [
        ("[0, 0]", 1, 1),
        ("[0, 1]", 2, 2),
        ("[1, 0]", 3, 3),
    ]
    assert view.values == 4 and view.truncated


def test_percent_never_rounds_a_share_to_nothing_or_everything():
    assert percent(1_024, 2_140_752) == "<0.1%"
    assert percent(2_139_728, 2_140_752) == ">99.9%"
    assert percent(41_040, 2_140_752) == "1.9%"
    assert percent(5, 5) == "100.0%"
    assert percent(0, 5) == "0%"


def test_error_format_switches_to_exponents_below_a_thousandth():
    assert [error(v) for v in (0, 0.0032, 6.952e-07, None)] == ["0", "0.0032", "6.95e-07", "—"]


def nested(inner_layers: int) -> list[LayerReport]:
    return [
        bare_layer("stem", []),
        bare_layer("body", [], is_model=True),
        *[bare_layer(f"l{i}", ["body"]) for i in range(inner_layers)],
        bare_layer("head", []),
    ]


def test_layer_table_groups_nested_layers_between_outer_runs():
    table = layer_table(nested(3), LayerFilter())
    kinds = [item.kind for item in table.root.items]
    assert kinds == ["run", "group", "run"]
    body = table.root.items[1]
    assert [row.layer.name for row in body.items[0].rows] == ["l0", "l1", "l2"]
    assert (table.total, table.shown, table.nested, body.total) == (5, 5, 1, 3)
    assert body.start_open


def test_layer_table_folds_a_large_nested_model_until_a_filter_is_on():
    assert not layer_table(nested(OPEN_UP_TO + 1), LayerFilter()).root.items[1].start_open
    filtered = layer_table(nested(OPEN_UP_TO + 1), LayerFilter(text="l4"))
    assert filtered.opens(filtered.root.items[1])
    # l4 and l40: the rest are hidden, the outer runs entirely.
    assert filtered.shown == 2
    assert [item.hidden for item in filtered.root.items] == [True, False, True]
