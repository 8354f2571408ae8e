"""The weights' findings in the JSON, on the page under "What stands out", and in the CLI."""

from __future__ import annotations

import re

import numpy as np
import pytest

from app.schemas import Report
from app.terminal import render
from tests.support.api import make_client, post_file
from tests.support.kerasref import keras

L = keras.layers


@pytest.fixture(scope="module")
def untrained_with_dead(tmp_path_factory):
    """Fresh Dense(64) on 32 inputs (2,048 values: glorot_uniform), then a BN whose channel 3
    has gamma 0 and beta −0.5 before a ReLU."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [keras.Input((32,)), L.Dense(64, name="dense"), L.BatchNormalization(name="bn"), L.ReLU()]
    )
    gamma, beta, mean, variance = model.get_layer("bn").get_weights()
    gamma[3], beta[3] = 0.0, -0.5
    model.get_layer("bn").set_weights([gamma, beta, mean, variance])
    path = tmp_path_factory.mktemp("findings") / "untrained.keras"
    model.save(path)
    return path


def test_findings_are_in_the_json_on_the_page_and_in_the_cli(tmp_path, untrained_with_dead):
    with make_client(tmp_path) as client:
        response = post_file(client, untrained_with_dead, params={"check": "false"})
        assert response.status_code == 201, response.text
        body = response.json()
        found = [(f["code"], f["layer"], f["weight"]) for f in body["findings"]]
        assert found == [
            ("looks-untrained", "dense", "kernel"),
            ("bias-all-zero", "dense", "bias"),
            ("dead-channels", "bn", None),
        ]
        assert body["findings"][2]["channels"] == [3]
        page = client.get(f"/reports/{body['id']}")
        assert page.status_code == 200
        assert 'id="findings"' in page.text and "What stands out" in page.text
        for code in ("looks-untrained", "bias-all-zero", "dead-channels"):
            assert f'data-code="{code}"' in page.text
        assert 'href="#layer-dense"><code>dense/kernel</code></a>' in page.text
    text = render(Report.model_validate(body))
    assert "What stands out:\n  looks-untrained (1):\n    ! dense/kernel: " in text
    assert "  dead-channels (1):\n    ! bn: 1 of its 64 channels are dead" in text


def test_a_model_without_findings_has_no_section(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), L.Dense(2, name="dense")])
    kernel = np.arange(6, dtype="float32").reshape(3, 2)
    model.set_weights([kernel, np.array([0.5, -0.5], "float32")])
    path = tmp_path / "small.keras"
    model.save(path)
    with make_client(tmp_path) as client:
        response = post_file(client, path, params={"check": "false"})
        assert response.status_code == 201
        assert response.json()["findings"] == []
        page = client.get(f"/reports/{response.json()['id']}")
        assert 'id="findings"' not in page.text


@pytest.fixture(scope="module")
def conv_report(tmp_path_factory):
    """Conv2D(4, 3) on (6, 6, 1): 4 × 4 × 4 outputs × 9 = 576 MACs; Dense(2) on 64: 128."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            L.Conv2D(4, 3, name="conv"),
            L.Flatten(name="flatten"),
            L.Dense(2, name="head"),
        ]
    )
    folder = tmp_path_factory.mktemp("conv")
    path = folder / "conv.keras"
    model.save(path)
    with make_client(folder) as client:
        response = post_file(client, path, params={"check": "false"})
        assert response.status_code == 201
        yield client, response.json()["id"]


def test_the_page_has_a_macs_card_and_a_macs_share_chart(conv_report):
    client, report_id = conv_report
    html = client.get(f"/reports/{report_id}").text
    assert 'id="total-macs">704<' in html  # 576 + 128
    assert 'id="peak-activations"' in html
    chart = html[html.index('id="share-macs"') :]
    chart = chart[: chart.index("</table>")]
    rows = re.findall(r'<a href="#layer-(\w+)">', chart)
    assert rows == ["conv", "head"]
    assert "81.8%" in chart and "18.2%" in chart  # 576 / 704, 128 / 704


def test_sort_by_macs_lists_the_layers_most_first_without_javascript(conv_report):
    client, report_id = conv_report
    html = client.get(f"/reports/{report_id}", params={"sort": "macs"}).text
    table = html[html.index('id="layers"') :]
    order = re.findall(r'<tr id="layer-(\w+)"', table)
    assert order == ["conv", "head", "input_layer", "flatten"] or order == [
        "conv",
        "head",
        "flatten",
    ]
    assert 'aria-sort="descending"' in table
    plain = client.get(f"/reports/{report_id}").text
    assert 'href="?sort=macs#layers"' in plain
