"""A BatchNormalization layer of both sides: which of its four weights moved, and why.

gamma and beta are trained by the optimizer; moving_mean and moving_variance are updated by
the layer itself, in training mode only (`training=True`: batch statistics), never by the
optimizer. So which of them moved says how the layer ran while the model was trained:

    gamma/beta   statistics   the layer...
    moved        moved        trained in training mode: the usual training
    moved        not          ran in inference mode while trained: called with training=False
                              (Keras' advice for fine-tuning), or frozen: in Keras 3 (and
                              tf.keras 2) `trainable=False` also makes it run in inference mode
    not          moved        was frozen yet ran in training mode and kept updating its
                              statistics: the Keras 2 fine-tuning trap (Keras 2.0-2.2 and
                              TensorFlow 1 updated a frozen layer's statistics)
    not          not          did not change: frozen (trainable=False in Keras 3) or not trained
"""

from __future__ import annotations

from app.compare.schemas import BatchNormDiff, LayerDiff

AFFINE = ("gamma", "beta")
STATISTICS = ("moving_mean", "moving_variance")

MESSAGES = {
    "trained": "gamma/beta and the moving statistics all moved: the layer trained in "
    "training mode, normalizing with each batch's statistics and updating its moving ones.",
    "inference-mode": "{affine} moved but the moving statistics did not: the layer ran in "
    "inference mode while the model trained. It was called with training=False (as Keras "
    "advises when fine-tuning a model with BatchNormalization), or frozen: in Keras 3, and "
    "tf.keras 2, trainable=False also makes a BatchNormalization run in inference mode, so "
    "its statistics stay as they were.",
    "statistics-while-frozen": "{statistics} moved but gamma/beta did not: the layer was "
    "frozen, yet it still ran in training mode and updated its statistics with the new "
    "data. This is the Keras 2 fine-tuning trap (in Keras 2.0-2.2 and TensorFlow 1, "
    "trainable=False did not stop a BatchNormalization from using batch statistics): at "
    "inference the layer now normalizes with statistics its gamma and beta were never "
    "fitted to. In Keras 3, trainable=False keeps the layer in inference mode.",
    "statistics-moved": "{statistics} moved (the layer has no gamma or beta): it ran in "
    "training mode while the model trained.",
    "nothing-moved": "None of its weights moved: the layer was frozen (trainable=False in "
    "Keras 3 keeps it in inference mode, so its statistics do not move either) or it was "
    "not trained.",
}


def batchnorm_diff(layer: LayerDiff) -> BatchNormDiff | None:
    """The finding for a matched pair of BatchNormalization layers whose values compare."""
    if layer.a is None or layer.b is None:
        return None
    if {layer.a.class_name, layer.b.class_name} != {"BatchNormalization"}:
        return None
    roles = {w.role: w.status for w in layer.weights if w.role in (*AFFINE, *STATISTICS)}
    if not roles or any(status not in ("equal", "changed") for status in roles.values()):
        return None  # a shape changed, or no values: nothing to say of training
    moved = {role: status == "changed" for role, status in roles.items()}
    finding = _finding(moved)
    return BatchNormDiff(
        layer=layer.b.name,
        moved=moved,
        trainable_a=layer.a.trainable,
        trainable_b=layer.b.trainable,
        finding=finding,
        message=MESSAGES[finding].format(
            affine=_named(moved, AFFINE), statistics=_named(moved, STATISTICS)
        ),
    )


def _finding(moved: dict[str, bool]) -> str:
    affine = [moved[r] for r in AFFINE if r in moved]
    statistics = any(moved.get(r, False) for r in STATISTICS)
    if not affine:
        return "statistics-moved" if statistics else "nothing-moved"
    if any(affine):
        return "trained" if statistics else "inference-mode"
    return "statistics-while-frozen" if statistics else "nothing-moved"


def _named(moved: dict[str, bool], roles: tuple[str, ...]) -> str:
    return " and ".join(role for role in roles if moved.get(role))
