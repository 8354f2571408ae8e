"""Report layers written by hand for the drawing's tests: a name, a class, what feeds it."""

from __future__ import annotations

from app.schemas import LayerReport


def layer(
    name: str,
    class_name: str = "Dense",
    inbound: tuple[str, ...] = (),
    path: tuple[str, ...] = (),
    *,
    is_model: bool = False,
    params: int = 0,
    macs: int | None = 0,
) -> LayerReport:
    return LayerReport(
        name=name,
        class_name=class_name,
        path=list(path),
        depth=len(path),
        known=True,
        is_model=is_model,
        trainable=True,
        inbound=list(inbound),
        calls=1,
        output_shape=[None, 4],
        params=params,
        trainable_params=params,
        non_trainable_params=0,
        bytes=4 * params,
        formula="",
        summary="",
        weights=[],
        macs=macs,
    )


def chain(names: list[str], after: str, class_name: str = "Dense") -> list[LayerReport]:
    """Layers each fed by the one before, the first by `after`."""
    made, previous = [], after
    for name in names:
        made.append(layer(name, class_name, (previous,)))
        previous = name
    return made


def skip_connection() -> list[LayerReport]:
    """x → a → b, and Add(x, b): the residual block of a ResNet, small."""
    return [
        layer("x", "InputLayer"),
        layer("a", "Dense", ("x",)),
        layer("b", "Dense", ("a",)),
        layer("add", "Add", ("x", "b")),
    ]


def resnet_like() -> list[LayerReport]:
    """An input, then three blocks of 10 layers named as ResNet50 names its own (`conv2_block1_
    …`), each ending in an Add of the block's input and its last convolution: 31 layers."""
    made = [layer("input_layer", "InputLayer")]
    previous = "input_layer"
    for block in (1, 2, 3):
        prefix = f"conv2_block{block}"
        body = chain([f"{prefix}_{n}_conv" for n in range(1, 10)], previous, "Conv2D")
        add = layer(f"{prefix}_add", "Add", (previous, body[-1].name))
        made += [*body, add]
        previous = add.name
    return made
