"""The report page: what a person reads about the seed model and about nested models."""

from __future__ import annotations

import re

import pytest

from tests.support.api import make_client
from tests.support.kerasref import keras
from tests.support.models import seed_model
from tests.support.pages import fresh, page, readable, section, upload

layers = keras.layers


@pytest.fixture(scope="module")
def seeded_report(tmp_path_factory):
    """The seed model of DESIGN.md, uploaded without Keras workers: (client, report id)."""
    tmp = tmp_path_factory.mktemp("report")
    with make_client(tmp) as client:
        yield client, upload(client, fresh(seed_model), tmp, "seed.keras")


def nested_model():
    """Input(8) → Sequential "inner" [Dense 4, BatchNormalization] → Dense 2."""
    inner = keras.Sequential(
        [keras.Input((8,)), layers.Dense(4, name="inner_dense"), layers.BatchNormalization()],
        name="inner",
    )
    inputs = keras.Input((8,), name="x")
    outputs = layers.Dense(2, name="head")(inner(inputs))
    return keras.Model(inputs, outputs, name="outer")


def test_report_page_shows_the_totals_of_model_summary(seeded_report):
    client, report_id = seeded_report
    html = page(client, f"/reports/{report_id}")
    assert re.search(r'id="total-params">2,140,752<', html)
    assert re.search(r'id="trainable-params">2,139,728<', html)
    assert re.search(r'id="non-trainable-params">1,024<', html)
    text = readable(html)
    assert "sequential Sequential" in text
    assert "seed.keras .keras archive written by Keras 3.15.1" in text
    assert "8 arrays in get_weights()" in text


def test_report_page_charts_where_the_parameters_are(seeded_report):
    client, report_id = seeded_report
    html = page(client, f"/reports/{report_id}")
    chart = html.split('id="share-layers"')[1].split("</table>")[0]
    rows = [readable(row) for row in chart.split("<tr>")[2:]]
    assert rows == [
        "dense Dense 2,097,664 98.0%",
        "dense_1 Dense 41,040 1.9%",
        "batch_normalization BatchNormalization 2,048 1,024 non-trainable 0.1%",
    ]
    # Bars are shares of 2,140,752 on a 0..1000 scale: 2,097,664 → 979.87; BN 1,024 → 0.48,
    # drawn 2 wide so that it shows.
    assert '<rect class="trainable" x="0" y="0" width="979.87"' in chart
    assert '<rect class="frozen" x="2.0" y="0" width="2.0"' in chart
    assert "trainable 2,139,728 (>99.9%) non-trainable 1,024 (<0.1%)" in readable(html)


def test_report_page_lists_the_batchnorm_layer_with_its_roles(seeded_report):
    client, report_id = seeded_report
    html = page(client, f"/reports/{report_id}")
    section = html.split('id="batchnorm"')[1].split("</section>")[0]
    assert f'href="/reports/{report_id}/batchnorm/batch_normalization"' in section
    text = readable(section)
    assert "batch_normalization 512 2: gamma 3: beta 4: moving_mean 5: moving_variance" in text
    assert "0.001 0.99 never-trained" in text
    assert 'class="role trainable" title="trainable">3: beta' in section
    assert 'class="role frozen" title="non-trainable">4: moving_mean' in section


def test_report_page_layer_table_gives_formulas_and_weight_indices(seeded_report):
    client, report_id = seeded_report
    text = readable(page(client, f"/reports/{report_id}"))
    # Each class name opens what the class computes (a <details> whose text is in the page).
    dense = "output = activation(inputs · kernel + bias), over the last axis."
    bn = "Inference: gamma · (x − moving_mean) / √(moving_variance + epsilon) + beta;"
    assert (
        f"dense Dense {dense} (None, 512) input_layer 2,097,664 2,097,664 0 2,097,152 "
        "4096 × 512 + 512 = 2,097,664 #0 kernel (4096, 512) 2,097,152 trainable "
        "#1 bias (512,) 512 trainable"
    ) in text
    assert f"batch_normalization BatchNormalization {bn}" in text
    assert (
        "its BatchNormalization page (None, 512) dense "
        "2,048 1,024 1,024 0 4 × 512 = 2,048 #2 gamma (512,) 512 trainable #3 beta (512,) 512 "
        "trainable #4 moving_mean (512,) 512 non-trainable #5 moving_variance (512,) 512 "
        "non-trainable"
    ) in text
    assert re.search(
        r"dropout Dropout .+? \(None, 512\) batch_normalization 0 0 0 0 no weights", text
    )
    assert "Showing 4 of 4 layers" in text
    assert "Total: 2,140,752 params, 2,139,728 trainable, 1,024 non-trainable" in text


def test_report_page_gives_macs_per_layer_and_the_peak_activation_memory(seeded_report):
    client, report_id = seeded_report
    html = page(client, f"/reports/{report_id}")
    # dense: 512 outputs × 4096 inputs; dense_1: 80 × 512; BatchNormalization and Dropout 0
    # Printed under the layer's row, with the layer by hand (no tooltip: keyboard and touch).
    assert "MACs 512 outputs × 4096 = 2,097,152 MACs; 2 × 2,097,152 MACs" in readable(html)
    assert "A forward pass at batch 1: 2,138,112 MACs" in readable(html)  # 2,097,152 + 40,960
    # float32 at batch 1: the input (4096 × 4 = 16,384 B) and dense's output (512 × 4 = 2,048 B)
    # are alive together: 18,432 B, more than any later pair
    assert re.search(r'id="peak-activations">18.4 KB<', html)


def test_report_page_gives_each_weights_share_of_exact_zeros(seeded_report):
    client, report_id = seeded_report
    html = page(client, f"/reports/{report_id}")
    # Keras initializes a Dense bias to zeros and BatchNormalization's beta and moving_mean
    # too; a glorot_uniform kernel has none
    assert html.count("· zeros 0%") >= 2  # the two Dense kernels
    assert html.count("· zeros 100.0%") >= 4  # two biases, beta, moving_mean


def test_report_page_filters_layers_by_class_without_javascript(seeded_report):
    client, report_id = seeded_report
    # The table of layers: the graph above it draws every layer whatever the filter.
    text = readable(section(page(client, f"/reports/{report_id}?class=Dense"), 'id="layers"'))
    assert "Showing 2 of 4 layers" in text
    assert "#0 kernel (4096, 512)" in text and "#6 kernel (512, 80)" in text
    assert "#2 gamma" not in text
    assert "dropout Dropout" not in text


def test_report_page_filters_by_name_and_by_weights(seeded_report):
    client, report_id = seeded_report
    assert "Showing 1 of 4 layers" in readable(page(client, f"/reports/{report_id}?q=BATCH"))
    with_weights = readable(section(page(client, f"/reports/{report_id}?weights=1"), 'id="layers"'))
    assert "Showing 3 of 4 layers" in with_weights
    assert "dropout Dropout" not in with_weights


def test_report_page_says_when_no_layer_matches(seeded_report):
    client, report_id = seeded_report
    text = readable(page(client, f"/reports/{report_id}?class=Conv2D"))
    assert "Showing 0 of 4 layers" in text
    assert "No layer matches this filter." in text


def test_report_page_says_the_check_did_not_run_without_workers(seeded_report):
    client, report_id = seeded_report
    html = page(client, f"/reports/{report_id}")
    section = readable(html.split('id="check"')[1].split("</section>")[0])
    assert "Not run This service runs no Keras workers (KEX_WORKERS=0)" in section
    assert "Code: no-workers" in section
    assert "data-check-poll" not in html


def test_report_page_groups_a_nested_model(tmp_path):
    with make_client(tmp_path) as client:
        report_id = upload(client, fresh(nested_model), tmp_path, "nested.keras")
        html = page(client, f"/reports/{report_id}")
    # The group's own </details> (a class name's <details> closes on the same line).
    opening, group = html.split('id="layer-inner"')[1].split("\n  </details>")[0].split(">", 1)
    assert " open" in opening  # a small nested model starts unfolded
    text = readable(group)
    # Dense(4) on 8 inputs: 8 × 4 + 4 = 36; BatchNormalization on 4: 4 × 4 = 16, 8 of them
    # moving statistics.
    assert text.startswith(
        "inner Sequential 2 layers · 52 params (8 non-trainable) · output (None, 4)"
    )
    assert re.search(r"inner_dense Dense .+? \(None, 4\) input_layer\S* 36 ", text)
    assert 'id="layer-inner/inner_dense"' in group
    assert "head Dense" not in text  # the outer model's own layer is outside the group
    assert "Showing 4 of 4 layers" in readable(html)  # x, inner_dense, batch_normalization, head
    # Connected to: head is fed by the nested model (4 × 2 + 2 = 10 params).
    assert re.search(r"head Dense .+? \(None, 2\) inner 10 ", readable(html))


def test_report_page_links_parameter_rows_to_nested_layers(tmp_path):
    with make_client(tmp_path) as client:
        report_id = upload(client, fresh(nested_model), tmp_path, "nested.keras")
        html = page(client, f"/reports/{report_id}")
    chart = html.split('id="share-layers"')[1].split("</table>")[0]
    assert '<a href="#layer-inner/inner_dense">inner_dense</a>' in chart
    assert "Dense in inner" in readable(chart)


def test_report_page_lists_the_mistakes_looked_for_in_this_model(seeded_report):
    client, report_id = seeded_report
    html = page(client, f"/reports/{report_id}")
    catalogue = html[html.index('<details class="catalogue">') :]
    catalogue = catalogue[: catalogue.index("</details>")]
    for code in (
        "batchnorm-batch-statistics",
        "dense-bias-left-out",
        "dropout-at-inference-scaled",
    ):
        assert f"<code>{code}</code>" in catalogue
    assert "conv-channels-order" not in catalogue  # no convolution in this model
    assert "rnn-return-sequences" not in catalogue
    # No check ran (no Keras workers here): no seeded inputs to download.
    assert "inputs.npz" not in html
