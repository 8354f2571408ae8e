"""tf.keras op layers by hand: TFOpLambda, SlicingOpLambda, TensorFlowOpLayer."""

from __future__ import annotations

from app.hand.rules import Facts, Hand, hand
from app.hand.rules import settings as line


@hand("TFOpLambda", "SlicingOpLambda")
def tf_op_lambda(facts: Facts) -> Hand:
    function = str(facts.get("function", "?"))[:60]
    return Hand(
        settings=line(f"function {function}"),
        formula=f"y = {function}(*call_args, **call_kwargs), the call's tensors in place",
        conventions=("The NumPy code follows TensorFlow's function of that name.",),
    )


@hand("TensorFlowOpLayer")
def tensorflow_op_layer(facts: Facts) -> Hand:
    node = facts.get("node_def", {})
    op = str(node.get("op", "?")) if isinstance(node, dict) else "?"
    return Hand(
        settings=line(f"op {op}"),
        formula=f"y = {op}(inputs, constants), the TensorFlow op of the layer's NodeDef",
    )
