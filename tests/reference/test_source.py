"""The source text of the reference forwards (app.reference.source): the report's code and the
export are the reference's own text, read from its modules, never a copy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.errors import UnsupportedModel
from app.reference import FORWARDS, source

REFERENCE = Path(__file__).resolve().parents[2] / "app" / "reference"

DENSE = '''def dense(config: Config, weights: Weights, inputs: list[np.ndarray], training):
    """Dense: activation(x · kernel + bias).
'''


def test_forward_source_is_the_registered_function_without_its_decorator():
    text = source.forward_source("Dense")
    assert text.startswith(DENSE)
    last_line = 'return activations.apply_activation(config.get("activation"), out)'
    assert text.rstrip().endswith(last_line)
    assert "@forward" not in text


def test_forward_source_is_text_of_the_reference_module():
    module_text = (REFERENCE / "core.py").read_text()
    assert source.forward_source("Dense") in module_text
    assert source.forward_source("Embedding") in module_text


def test_forward_source_of_an_alias_is_the_shared_function():
    # Dropout and SpatialDropout1D are registered by one multi-line @forward(...) call.
    assert source.forward_source("SpatialDropout1D") == source.forward_source("Dropout")
    assert source.forward_source("Dropout").startswith("def identity_at_inference(")


def test_helper_names_of_dense_name_what_it_calls():
    assert {
        "forwards.single",
        "forwards.weight",
        "forwards.optional_weight",
        "activations.apply_activation",
    } <= set(source.all_helper_names("Dense"))
    assert "core.dense" not in source.all_helper_names("Dense")


def test_all_helper_names_puts_callees_first():
    names = source.all_helper_names("Dense")
    assert set(names) >= {"activations.get_activation", "activations.apply_activation"}
    assert names.index("activations.get_activation") < names.index("activations.apply_activation")


def test_helper_source_is_the_helper_text():
    text = source.helper_source("forwards.single")
    assert text.startswith("def single(inputs: Sequence[np.ndarray]) -> np.ndarray:")
    assert text in (REFERENCE / "forwards.py").read_text()


def test_unknown_class_is_refused_with_its_name():
    with pytest.raises(UnsupportedModel) as caught:
        source.forward_source("NoSuchLayer")
    assert caught.value.details == {"class_name": "NoSuchLayer"}


@pytest.mark.parametrize("class_name", sorted(FORWARDS))
def test_every_forward_source_runs_as_the_reference(class_name):
    # Every text is complete Python that defines the function it claims to, and its
    # helpers' texts are found; the next test runs one and checks its numbers by hand.
    fn = source.forward_function(class_name)
    namespace = dict(vars(__import__(fn.__module__, fromlist=["_"])))
    exec(compile(source.forward_source(class_name), fn.__module__, "exec"), namespace)
    assert callable(namespace[source.function_name(class_name).rsplit(".", 1)[1]])
    for name in source.all_helper_names(class_name):
        assert source.helper_source(name)


def test_dense_source_compiled_alone_computes_dense_by_hand():
    fn = source.forward_function("Dense")
    namespace = dict(vars(__import__(fn.__module__, fromlist=["_"])))
    exec(source.forward_source("Dense"), namespace)
    x = np.array([[1.0, 2.0]], dtype=np.float32)
    kernel = np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 2.0]], dtype=np.float32)
    bias = np.array([0.0, -3.0, 0.0], dtype=np.float32)
    out = namespace["dense"]({"activation": "relu"}, {"kernel": kernel, "bias": bias}, [x], False)
    # x · kernel = [2, 2, 3]; + bias = [2, -1, 3]; relu -> [2, 0, 3]
    np.testing.assert_array_equal(out, np.array([[2.0, 0.0, 3.0]], dtype=np.float32))
