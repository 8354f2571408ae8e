"""The report page shows each layer by hand: settings, formula with its numbers, conventions
in the page itself (not in a tooltip), and the reference's code collapsed until opened."""

from __future__ import annotations

import re

import pytest

from tests.support.api import make_client
from tests.support.kerasref import keras
from tests.support.models import seed_batchnorm
from tests.support.pages import fresh, page, readable, section, upload

layers = keras.layers


@pytest.fixture(scope="module")
def seed_page(tmp_path_factory):
    """DESIGN.md's question, Input((2,)) → BatchNormalization(axis=1), fresh: its page."""
    tmp = tmp_path_factory.mktemp("hand")
    with make_client(tmp) as client:
        report_id = upload(client, fresh(seed_batchnorm), tmp, "seed_bn.keras")
        yield page(client, f"/reports/{report_id}")


def test_seed_page_shows_the_batchnorm_formula_with_its_numbers(seed_page):
    text = readable(seed_page)
    assert "formula y = gamma · (x − moving_mean) / √(moving_variance + 0.001) + beta" in text
    assert "settings axis 1 · epsilon 0.001" in text
    # A fresh layer: gamma 1, beta 0, moving_mean 0, moving_variance 1, two channels.
    assert (
        "values gamma = [1, 1] · beta = [0, 0] · moving_mean = [0, 0] · moving_variance = [1, 1]"
        in text
    )
    assert "the 2 channels along axis 1" in text


def test_the_formula_is_in_the_page_not_in_a_title(seed_page):
    titles = " ".join(re.findall(r'title="([^"]*)"', seed_page))
    assert "moving_variance + 0.001" not in titles
    assert "<code>y = gamma · (x − moving_mean) / √(moving_variance + 0.001) + beta</code>" in (
        seed_page
    )


def test_the_code_is_collapsed_and_the_layer_links_to_it(seed_page):
    assert '<a href="#code-normalization.batch_normalization">' in seed_page
    code = section(seed_page, 'id="reference-code-title"')
    block = re.search(
        r'<details class="code" id="code-normalization.batch_normalization">(.*?)</details>',
        code,
        re.S,
    )
    assert block is not None  # a <details> without `open`: collapsed until opened
    assert "def batch_normalization(" in block.group(1)
    assert "return affine(x, mean, variance, config.get(&#34;epsilon&#34;, 1e-3), gamma, beta)" in (
        block.group(1)
    )
    assert '<details class="code" id="code-forwards.weight">' in code  # a helper it calls


def test_bidirectional_weights_are_named_by_direction(tmp_path):
    model = keras.Sequential(
        [keras.Input((4, 2)), layers.Bidirectional(layers.LSTM(3, name="lstm"))]
    )
    with make_client(tmp_path) as client:
        html = page(client, f"/reports/{upload(client, model, tmp_path)}")
    text = readable(html)
    for direction in ("forward", "backward"):
        for role in ("kernel", "recurrent_kernel", "bias"):
            assert f"{role} {direction}_lstm/lstm_cell/{role}" in text
    assert "Forward direction weights: forward_lstm/lstm_cell/kernel," in text


def test_openapi_documents_the_forward_object(tmp_path):
    with make_client(tmp_path) as client:
        document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    forward = schemas["LayerForward"]["properties"]
    fields = ("settings", "formula", "shapes", "values", "conventions", "function", "code")
    for field in (*fields, "helpers"):
        assert forward[field].get("description"), field
    assert "forward" in schemas["LayerReport"]["properties"]
    assert "reference_code" in schemas["Report"]["properties"]
    # The example report (Input(4) → Dense(3, relu) → BatchNormalization()) carries it too.
    text = str(document)
    assert "y = relu(x · kernel + bias)" in text
    assert "x (None, 4) · kernel (4, 3) · bias (3,) → y (None, 3)" in text
