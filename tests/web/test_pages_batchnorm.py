"""The page of one BatchNormalization layer: weights, set_weights order, formula, charts, modes."""

from __future__ import annotations

import json

import pytest

from tests.support.api import make_client
from tests.support.kerasref import keras
from tests.support.models import SEED_INPUT, seed_batchnorm, seed_model
from tests.support.pages import fresh, page, readable, section, upload

BN_URL = "/reports/{}/batchnorm/batch_normalization"


@pytest.fixture(scope="module")
def seed_page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bn")
    with make_client(tmp) as client:
        report_id = upload(client, fresh(seed_model), tmp, "seed.keras")
        yield report_id, page(client, BN_URL.format(report_id))


def test_batchnorm_page_states_epsilon_momentum_axis(seed_page):
    _, html = seed_page
    text = readable(html)
    assert "BatchNormalization layer batch_normalization" in text
    assert (
        "Channels 512 axis -1 epsilon 0.001 momentum 0.99 center / scale True / True "
        "Params 4 × 512 = 2,048 trainable True Values from the file"
    ) in text


def test_batchnorm_page_lists_weights_with_indices_and_trainable(seed_page):
    _, html = seed_page
    rows = readable(section(html, 'id="weights-title"')).split(" set_weights() ")[0]
    assert "2 gamma (512,) trainable learned per-channel scale" in rows
    assert "3 beta (512,) trainable learned per-channel offset" in rows
    assert "4 moving_mean (512,) non-trainable running mean of the inputs" in rows
    assert "5 moving_variance (512,) non-trainable running variance of the inputs" in rows


def test_batchnorm_page_gives_the_set_weights_order_as_a_snippet(seed_page):
    _, html = seed_page
    pre = html.split('<pre id="set-weights-snippet"')[1]
    assert pre.startswith(' tabindex="0" aria-label=')  # it scrolls: reachable by keyboard
    snippet = pre.split("<code>", 1)[1].split("</code>")[0]
    assert snippet == (
        "layer = model.get_layer(&#34;batch_normalization&#34;)\n"
        "gamma, beta, moving_mean, moving_variance = layer.get_weights()\n"
        "layer.set_weights([gamma, beta, moving_mean, moving_variance])\n"
        "# in model.get_weights() these are at indices 2, 3, 4, 5"
    )
    assert 'data-copy="set-weights-snippet"' in html


def test_batchnorm_page_writes_the_formula_with_the_layer_numbers(seed_page):
    _, html = seed_page
    text = readable(section(html, 'id="inference-title"'))
    assert (
        "y[c] = gamma[c] · (x[c] − moving_mean[c]) / √(moving_variance[c] + 0.001) + beta[c], "
        "for each of the 512 channels c along axis -1"
    ) in text
    assert "channel 0: y = 1 · (x − 0) / √(1 + 0.001) + 0 = 0.9995004 · x + 0" in text
    assert "Channel 0 here: scale = 0.9995004, shift = 0." in text


def test_batchnorm_page_explains_a_never_trained_layer(seed_page):
    _, html = seed_page
    text = readable(section(html, 'id="findings-title"'))
    assert text.startswith("What stands out Never trained never-trained")
    assert "that is 0.9995004 · x, the classic 0.9995 surprise" in text


def test_batchnorm_page_draws_one_chart_per_channel_array(seed_page):
    _, html = seed_page
    charts = section(html, 'id="channels-title"')
    names = [part.split('"')[0] for part in charts.split('id="chart-')[1:]]
    assert names == ["gamma", "beta", "moving_mean", "moving_variance", "scale", "shift"]
    assert charts.count('viewBox="0 0 512 100"') == 6  # one unit per channel
    gamma = charts.split('id="chart-gamma"')[1].split("</figure>")[0]
    # All 512 gamma are 1 on a 0..1 scale: one step at the top (y 4) across the chart.
    assert 'd="M0 100.0V4.0H1V4.0H2' in gamma
    assert "every channel is 1" in readable(gamma)
    assert "min 1 · max 1 · mean 1 · std 0" in readable(gamma)
    assert "every channel is 0.9995" in readable(charts.split('id="chart-scale"')[1])


def test_batchnorm_page_without_a_check_says_how_to_see_both_modes(seed_page):
    _, html = seed_page
    text = readable(section(html, 'id="training-title"'))
    assert "moving_mean ← 0.99 · moving_mean + 0.01 · mean_batch" in text
    assert "The check did not run for this report" in text
    assert "data-check-poll" not in html


def test_batchnorm_page_without_center_has_no_beta(tmp_path):
    with make_client(tmp_path) as client:
        report_id = upload(client, fresh(seed_model, center=False), tmp_path)
        html = page(client, BN_URL.format(report_id))
    pre = html.split('<pre id="set-weights-snippet"')[1]
    assert pre.startswith(' tabindex="0" aria-label=')  # it scrolls: reachable by keyboard
    snippet = pre.split("<code>", 1)[1].split("</code>")[0]
    assert "gamma, moving_mean, moving_variance = layer.get_weights()" in snippet
    assert "at indices 2, 3, 4" in snippet
    text = readable(section(html, 'id="weights-title"'))
    assert "With center=False there is no beta: the indices of the arrays after it shift" in text
    names = [part.split('"')[0] for part in html.split('id="chart-')[1:]]
    assert names == ["gamma", "moving_mean", "moving_variance", "scale", "shift"]


def test_batchnorm_page_of_a_nested_layer_chains_get_layer(tmp_path):
    inner = keras.Sequential(
        [keras.Input((3,)), keras.layers.BatchNormalization(name="bn")], name="block"
    )
    with make_client(tmp_path) as client:
        report_id = upload(client, keras.Sequential([keras.Input((3,)), inner]), tmp_path)
        html = page(client, f"/reports/{report_id}/batchnorm/bn")
    assert "model.get_layer(&#34;block&#34;).get_layer(&#34;bn&#34;)" in html
    assert "inside block" in readable(html)


def test_batchnorm_page_of_an_unknown_layer_is_the_404_page(tmp_path):
    with make_client(tmp_path) as client:
        report_id = upload(client, fresh(seed_model), tmp_path)
        html = page(client, f"/reports/{report_id}/batchnorm/dense", status=404)
    text = readable(html)
    assert "Error 404" in text
    assert "This report has no BatchNormalization layer named 'dense'." in text
    assert "Code layer-not-found" in text


def test_batchnorm_page_shows_both_modes_from_a_real_check(tmp_path, warm_pool):
    """DESIGN.md: BatchNormalization(axis=1), fresh, on [[0, 1], [2, 3]]: inference x/√1.001,
    training ±0.9995 (batch mean 1 and 2, variance 1)."""
    model = fresh(seed_batchnorm)
    with warm_pool.client(tmp_path) as client:
        inputs = json.dumps(SEED_INPUT.tolist())
        report_id = upload(client, model, tmp_path, inputs=inputs, mode="training", wait="true")
        html = page(client, BN_URL.format(report_id))
    modes = html.split('data-live="modes"')[1].split("</table>")[0]
    text = readable(modes)
    assert "what Keras gave in training mode. The batch holds 2 samples." in text
    assert "Channel Input x Inference Training Keras (training)" in text
    assert "0 0 0 -0.9995004 -0.9995004" in text
    assert "1 1 0.9995004 -0.9995004 -0.9995004" in text


def three_batchnorms():
    """Input(4) → BatchNormalization bn_a → bn_b → bn_c."""
    inputs = keras.Input((4,))
    x = inputs
    for name in ("bn_a", "bn_b", "bn_c"):
        x = keras.layers.BatchNormalization(name=name)(x)
    return keras.Model(inputs, x)


def test_batchnorm_pages_link_to_the_previous_and_next_layer(tmp_path):
    with make_client(tmp_path) as client:
        report_id = upload(client, fresh(three_batchnorms), tmp_path, "three.keras")
        first, middle, last = (
            page(client, f"/reports/{report_id}/batchnorm/{name}")
            for name in ("bn_a", "bn_b", "bn_c")
        )
    base = f"/reports/{report_id}/batchnorm/"
    assert f'<a rel="prev" href="{base}bn_a">' in middle
    assert f'<a rel="next" href="{base}bn_c">' in middle
    assert "2 of 3" in readable(middle)
    assert 'rel="prev"' not in first and f'<a rel="next" href="{base}bn_b">' in first
    assert 'rel="next"' not in last and "3 of 3" in readable(last)
