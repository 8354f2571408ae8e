"""Every keras.applications architecture, built with weights=None: every class in it is
registered, and for every leaf layer the registry's weights (names, shapes, trainable, order)
and output shape equal what Keras built.

Keras 3 configs of these models also hold tensor arithmetic as operations (`x + 3.0` in
MobileNetV3, `inputs + x` in ConvNeXt: class `Add`/`Multiply`, module `keras.src.ops.numpy`);
those are checked too, with their tensor inputs only, as the config parser passes them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

from app.analysis.resolve import resolve
from app.formats.config import parse_model
from app.layers.registry import known_classes, lookup
from tests.support.kerasref import keras, weight_path


@dataclass(frozen=True)
class Architecture:
    name: str
    size: int = 32  # the smallest input side the architecture accepts
    include_top: bool = False

    def build(self):
        top = {"classes": 10} if self.include_top else {}
        builder = getattr(keras.applications, self.name)
        return builder(
            weights=None,
            include_top=self.include_top,
            input_shape=(self.size, self.size, 3),
            **top,
        )


SIZES = {"InceptionV3": 75, "InceptionResNetV2": 75, "Xception": 71}
FAST = [
    "MobileNet", "MobileNetV2", "MobileNetV3Small", "MobileNetV3Large", "ResNet50",
    "ResNet50V2", "VGG16", "VGG19", "DenseNet121", "EfficientNetB0", "EfficientNetV2B0",
    "ConvNeXtTiny", "InceptionV3", "Xception", "NASNetMobile",
]  # fmt: skip
SLOW = [
    "ResNet101", "ResNet152", "ResNet101V2", "ResNet152V2", "DenseNet169", "DenseNet201",
    "EfficientNetB1", "EfficientNetB2", "EfficientNetB3", "EfficientNetB4", "EfficientNetB5",
    "EfficientNetB6", "EfficientNetB7", "EfficientNetV2B1", "EfficientNetV2B2",
    "EfficientNetV2B3", "EfficientNetV2S", "EfficientNetV2M", "EfficientNetV2L",
    "ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtXLarge", "InceptionResNetV2",
    "NASNetLarge",
]  # fmt: skip


# Fast architectures whose top adds layers of other kinds (Flatten, Reshape, Dropout, ...);
# the others' tops are GlobalAveragePooling2D + Dense, already seen, and run with the slow ones.
FAST_TOPS = {"VGG16", "MobileNet", "MobileNetV3Small", "EfficientNetB0", "ConvNeXtTiny"}


def _params() -> list:
    params = []
    for name in FAST + SLOW:
        for top in (False, True):
            fast = name in FAST and (not top or name in FAST_TOPS)
            arch = Architecture(name, SIZES.get(name, 32), top)
            label = f"{name}-{'top' if top else 'notop'}"
            marks = [] if fast else [pytest.mark.slow]
            params.append(pytest.param(arch, id=label, marks=marks))
    return params


def test_every_architecture_is_listed():
    listed = set(FAST) | set(SLOW)
    assert listed == {n for n in dir(keras.applications) if n[:1].isupper()}


@pytest.fixture(scope="module", params=_params())
def application(request):
    model = request.param.build()
    yield model
    del model
    keras.backend.clear_session()


def leaf_operations(model) -> list:
    """Every layer or operation inside `model`, nested models opened, InputLayers left out."""
    found = []
    for op in getattr(model, "operations", None) or model.layers:
        if isinstance(op, keras.Model):
            found += leaf_operations(op)
        elif type(op).__name__ != "InputLayer":
            found.append(op)
    return found


def test_every_class_of_the_architecture_is_registered(application):
    classes = {type(op).__name__ for op in leaf_operations(application)}
    assert sorted(classes - set(known_classes())) == []


def keras_facts(op) -> tuple[list, dict]:
    """(input shapes, {"weights": [(path, shape, trainable)], "output_shape"}) of the op's
    first call, as Keras built it."""
    node = op._inbound_nodes[0]
    shapes = [tuple(t.shape) for t in node.input_tensors]
    outputs = [tuple(t.shape) for t in node.output_tensors]
    weights = [(path_in_layer(op, w), tuple(w.shape), w.trainable) for w in op_weights(op)]
    return shapes, {
        "weights": weights,
        "output_shape": outputs[0] if len(outputs) == 1 else outputs,
    }


def op_weights(op) -> list:
    return op.weights if isinstance(op, keras.layers.Layer) else []


def path_in_layer(layer, weight) -> str:
    """`weight.path` from the layer's name on: NASNet creates its layers inside name scopes
    (`reduction_A_block_stem_1/reduction_conv_1_stem_1/kernel`)."""
    path = weight.path
    marker = f"/{layer.name}/"
    path = path.split(marker, 1)[1] if marker in path else weight_path(layer, weight)
    return unnumbered(path)


def unnumbered(path: str) -> str:
    """A variable created without a name is `variable`, `variable_1`, ... in the order of the
    whole session (ConvNeXt's LayerScale): the registry gives the first one's name."""
    return re.sub(r"(^|/)variable_\d+$", r"\1variable", path)


def registry_facts(op, shapes: list) -> dict:
    """What the registry says from the config as a saved file holds it (JSON round trip)."""
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(op)))["config"]
    entry = lookup(type(op).__name__)
    assert entry is not None, type(op).__name__
    specs = entry.weights(config, shapes)
    return {
        "weights": [(s.name, s.shape, s.trainable) for s in specs],
        "output_shape": entry.output_shape(config, shapes),
    }


def test_every_leaf_layer_matches_the_registry(application):
    mismatches = []
    for op in leaf_operations(application):
        shapes, expected = keras_facts(op)
        found = registry_facts(op, shapes)
        if found != expected:
            mismatches.append((op.name, type(op).__name__, shapes, found, expected))
    assert mismatches == []


def test_the_saved_config_resolves_to_the_model_weights(application):
    """Through the product's own path: the `to_json()` config parsed and resolved gives
    `model.weights` exactly (layer/weight names, shapes, trainable) in `get_weights()` order."""
    graph = parse_model(json.loads(application.to_json()))
    resolve(graph, weights_in_file=False)
    found = [
        (f"{node.name}/{w.name}", w.shape, w.trainable, w.index)
        for _, node in graph.walk()
        for w in node.weights
    ]
    expected = [
        (unnumbered(_without_name_scope(v.path)), tuple(v.shape), v.trainable, i)
        for i, v in enumerate(application.weights)
    ]
    assert found == expected


def _without_name_scope(path: str) -> str:
    """`scope/layer/kernel` -> `layer/kernel` (NASNet builds its cells in name scopes)."""
    parts = path.split("/")
    return "/".join(parts[-2:])


# The classes defined inside keras.applications modules ----------------------------------


def app_layer_facts(layer, input_shapes: list) -> dict:
    tensors = [keras.Input(batch_shape=s) for s in input_shapes]
    out = layer(tensors[0] if len(tensors) == 1 else tensors)
    return {
        "weights": [(path_in_layer(layer, w), tuple(w.shape), w.trainable) for w in layer.weights],
        "output_shape": tuple(out.shape),
    }


def app_registry_facts(class_name: str, config: dict, input_shapes: list) -> dict:
    entry = lookup(class_name)
    return {
        "weights": [(s.name, s.shape, s.trainable) for s in entry.weights(config, input_shapes)],
        "output_shape": entry.output_shape(config, input_shapes),
    }


@pytest.mark.parametrize(
    ("projection_dim", "shape"), [(4, (None, 8, 8, 4)), (6, (None, 6)), (3, (2, 5, 3))]
)
def test_convnext_layer_scale_matches_keras(projection_dim, shape):
    from keras.src.applications.convnext import LayerScale

    config = {"init_values": 1e-6, "projection_dim": projection_dim}
    expected = app_layer_facts(LayerScale(**config), [shape])
    assert app_registry_facts("LayerScale", config, [shape]) == expected
    assert expected["weights"] == [("variable", (projection_dim,), True)]


@pytest.mark.parametrize("shape", [(None, 8, 8, 4), (None, 6)])
def test_convnext_stochastic_depth_matches_keras(shape):
    from keras.src.applications.convnext import StochasticDepth

    config = {"drop_path_rate": 0.1}
    expected = app_layer_facts(StochasticDepth(**config), [shape])
    assert app_registry_facts("StochasticDepth", config, [shape]) == expected


@pytest.mark.parametrize(
    "shapes",
    [
        [(None, 7, 7, 320), (None, 7, 7, 320)],
        [(None, 7, 7, 320), (None, 1, 1, 320)],
        [(None, None, None, 8), (2, 5, 5, 8)],
    ],
)
def test_inception_resnet_custom_scale_layer_matches_keras(shapes):
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    config = {"scale": 0.17}
    expected = app_layer_facts(CustomScaleLayer(**config), shapes)
    assert app_registry_facts("CustomScaleLayer", config, shapes) == expected
