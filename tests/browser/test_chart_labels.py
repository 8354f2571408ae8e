"""The BatchNormalization page's channel charts in Chromium: their y-axis labels never overlap
and stay inside their chart's box, at 1440×900 and on a 390×844 phone. Screenshots go to
test-artifacts/bn-labels-*.png."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.support.browser import VIEWPORTS, open_tab, post_report
from tests.support.files import saved
from tests.support.kerasref import keras
from tests.support.pages import fresh

# Each chart's visible axis labels and its own box, in page pixels.
LABEL_BOXES = """() => [...document.querySelectorAll("figure.channel-chart")].map((figure) => {
    const box = (e) => {
        const r = e.getBoundingClientRect();
        return [r.left, r.top, r.right, r.bottom];
    };
    return {
        chart: figure.id,
        figure: box(figure),
        labels: [...figure.querySelectorAll(".y-axis span:not(.sizer)")].map(
            (span) => ({text: span.textContent, box: box(span)})),
    };
})"""

# Eight channels as a real MobileNetV2's block_2_project_BN and Xception's beta have them:
# beta (and so shift, with moving_mean 0) from -4.113 to 21.7 puts 0 at 84.7 hundredths of the
# plot, one label's height above the -4.113 at the bottom; gamma (and scale, with
# moving_variance + epsilon = 1) spans -0.004633 .. 0.004404: labels nine characters wide.
GAMMA = [-0.004633, 0.004404, 0.001, 0.002, -0.003, 0.0035, 0.0005, -0.001]
BETA = [-4.113, 21.7, 5.0, 8.0, 12.0, -1.0, 3.0, 15.0]


def crowded_batchnorm():
    model = keras.Sequential([keras.Input((8,)), keras.layers.BatchNormalization()])
    bn = model.layers[-1]
    variance = np.full(8, 1.0 - bn.epsilon, dtype="float32")
    values = [np.array(GAMMA, "float32"), np.array(BETA, "float32"), np.zeros(8, "float32")]
    bn.set_weights([*values, variance])
    return model


@pytest.fixture(scope="module")
def crowded_report(server, tmp_path_factory) -> str:
    path = saved(fresh(crowded_batchnorm), tmp_path_factory.mktemp("bn") / "crowded.keras")
    return post_report(server, path)


def intersects(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("viewport_name", sorted(VIEWPORTS))
def test_channel_chart_axis_labels_neither_overlap_nor_leave_their_chart(
    browser, server, crowded_report, viewport_name
):
    tab = open_tab(browser, server, viewport=VIEWPORTS[viewport_name])
    tab.open(f"/reports/{crowded_report}/batchnorm/batch_normalization")
    expect(tab.page.locator("figure.channel-chart")).to_have_count(6)
    tab.shoot(f"bn-labels-{viewport_name}")
    charts = {chart["chart"]: chart for chart in tab.page.evaluate(LABEL_BOXES)}
    for chart in charts.values():
        labels = chart["labels"]
        overlapping = [
            (a["text"], b["text"])
            for i, a in enumerate(labels)
            for b in labels[i + 1 :]
            if intersects(a["box"], b["box"])
        ]
        assert overlapping == [], chart["chart"]
        left, _, right, _ = chart["figure"]
        outside = [x["text"] for x in labels if x["box"][0] < left or x["box"][2] > right]
        assert outside == [], chart["chart"]
    shift = [label["text"] for label in charts["chart-shift"]["labels"]]
    assert shift == ["21.7", "-4.113"]  # its 0 would sit on the -4.113
    assert [label["text"] for label in charts["chart-gamma"]["labels"]] == [
        "0.004404",
        "0",
        "-0.004633",
    ]
    assert tab.console_errors() == []
    tab.page.context.close()
