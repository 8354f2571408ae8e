"""`model_forward.py`: a model as a standalone NumPy program, built from the reference's source.

    program_text(graph, tolerance, title) -> str

The program holds, in this order: the reference's definitions this model uses
(`app.reference.source`: each class's forward and mask rule, and their helpers, as written
in `app/reference/`, the same text the report shows as the layer's code), each layer's
config, and `forward(inputs, weights)`: one line per layer call in topological order, the
variable named after the layer, e.g.

    dense_1 = dense(CONFIG["dense_1"], layer_weights(weights, "dense_1"), [flatten], False)

A model whose tensors carry Keras masks (an `Embedding(mask_zero=True)`, a `Masking` layer)
gets one more line after a call whose class computes a mask of its own
(`gru_masks = recurrent_mask(...)`), and the mask is handed to the forwards that consume it,
as `app.analysis.reference` does. A nested model becomes a function of its own.

Not written (`UnsupportedModel`, which names the layer): a class without a forward, a call
that takes tensors by keyword (initial states, an explicit `mask=`), a Keras mask operation.
"""

from __future__ import annotations

import ast
import keyword
import pprint
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.analysis.reference import schedule
from app.errors import UnsupportedModel
from app.graph import LayerNode, ModelGraph, TensorRef, compute_dtype, variable_dtype
from app.layers.registry import lookup, traits_of
from app.reference.activations import ACTIVATIONS
from app.reference.forwards import FORWARDS, MASK_CONSUMERS
from app.reference.masking import drops_mask, first_input_mask
from app.reference.precision import half_compute_dtype, rounded
from app.reference.source import Assembly, definition_text, definitions, forward_binding


@dataclass
class _Callables:
    """How the program names each class's forward and mask rule."""

    objects: list[Callable] = field(default_factory=list)  # module-level: copied by name
    bindings: dict[str, str] = field(default_factory=dict)  # name -> `factory("arg")`
    forward_of: dict[str, str] = field(default_factory=dict)  # class -> expression
    rule_of: dict[str, str] = field(default_factory=dict)  # class -> expression


def program_text(graph: ModelGraph, tolerance: float | None, title: str) -> str:
    """The whole `model_forward.py` for a resolved graph."""
    nodes = all_nodes(graph)
    _refuse_unwritable(nodes)
    classes = _classes(nodes)
    callables = _callables(classes)
    wrapped = any(_wrapped(n, c) for n in nodes if _forward_needed(n) for c in range(len(n.calls)))
    halves = any(_half(node) for node in nodes) or any(
        half_compute_dtype(variable_dtype(graph.layer(r.layer).config)) for r in graph.inputs
    )
    objects = [
        *callables.objects,
        *([_AS_OUTPUTS] if wrapped else []),
        *([rounded] if halves else []),  # Keras' casts around a half-precision layer
    ]
    assembly = definitions(objects)
    activations = _activations(assembly, nodes)
    if activations:  # `get_activation` reads ACTIVATIONS: this model's entries are copied too
        assembly = definitions([*objects, *activations.values()])
    masked = any(_makes_masks(node) for node in nodes)
    writer = _Writer(callables, assembly.defined() | set(callables.bindings), masked)
    functions = writer.graph_function("forward", graph, top=True)
    bindings = [f"{n} = {e}" for n, e in callables.bindings.items()]
    tables = [
        _forwards_table(assembly, callables, classes),
        _activations_table(activations),
        "\n".join(bindings),
    ]
    return _TEMPLATE.format(
        title=title,
        definitions="\n\n\n".join([assembly.text().rstrip("\n"), *[t for t in tables if t]]),
        configs=_configs(nodes),
        functions="\n\n\n".join([*writer.nested, functions]),
        input_count=len(graph.inputs),
        output_names=[ref.layer for ref in graph.outputs],
        tolerance=repr(tolerance),
    )


def all_nodes(graph: ModelGraph) -> list[LayerNode]:
    """Every node the program runs: layers and Keras operations (`ops.Add`), nested models'
    included."""
    found = []
    for node in graph.layers:
        found.append(node)
        if node.inner is not None:
            found += all_nodes(node.inner)
    return found


def _refuse_unwritable(nodes: list[LayerNode]) -> None:
    missing = sorted({n.class_name for n in nodes if _forward_needed(n) and not _has_forward(n)})
    if missing:
        raise UnsupportedModel(
            "There is no reference forward for layer class " + ", ".join(missing) + ".",
            {"class_names": missing},
        )
    by_name = {node.name: node for node in nodes}
    for node in nodes:
        traits = traits_of(node.class_name)
        extras = [r for refs in node.call_extras for r in refs]
        producers = [by_name.get(r.layer) for r in extras]
        from_masks = any(p is None or traits_of(p.class_name).records_mask for p in producers)
        if (extras and (not traits.initial_states or from_masks)) or traits.records_mask:
            raise UnsupportedModel(
                f"Layer {node.name!r} ({node.class_name}) is called with tensors passed by "
                "keyword or computes a Keras mask; the exported program does not write those "
                "calls yet.",
                {"layer": node.name, "class_name": node.class_name},
            )


def _forward_needed(node: LayerNode) -> bool:
    return node.class_name != "InputLayer" and node.inner is None


def _has_forward(node: LayerNode) -> bool:
    return node.class_name in FORWARDS


def _classes(nodes: list[LayerNode]) -> list[str]:
    """Every class whose forward may run: the layers', and those a wrapper names in its config
    (Bidirectional's LSTM), which `run_layer` finds in `FORWARDS`."""
    found: dict[str, None] = {}
    for node in nodes:
        if _forward_needed(node):
            found[node.class_name] = None
            for name in _nested_class_names(node.config):
                if name in FORWARDS:
                    found[name] = None
    return list(found)


def _nested_class_names(value: Any) -> list[str]:
    if isinstance(value, dict):
        own = [value["class_name"]] if isinstance(value.get("class_name"), str) else []
        return own + [n for v in value.values() for n in _nested_class_names(v)]
    if isinstance(value, list):
        return [n for v in value for n in _nested_class_names(v)]
    return []


def _makes_masks(node: LayerNode) -> bool:
    """Whether the layer makes a mask from no mask: an Embedding with mask_zero, a Masking."""
    if node.class_name == "Embedding":
        return bool(node.config.get("mask_zero", False))
    return node.class_name == "Masking"


# Naming the forwards ----------------------------------------------------------------------


def _callables(classes: list[str]) -> _Callables:
    found = _Callables()
    for class_name in classes:
        found.forward_of[class_name] = _expression(found, class_name, FORWARDS[class_name])
        entry = lookup(class_name)
        rule = entry.mask_rule if entry is not None else drops_mask
        if rule not in (drops_mask, first_input_mask):
            found.rule_of[class_name] = _expression(found, class_name, rule)
    return found


def _expression(found: _Callables, class_name: str, fn: Callable) -> str:
    """`dense` for a module-level function; for one a factory made (`augmentation("RandomFlip")`,
    the operations), a name bound to that call (`app.reference.source.forward_binding`: the
    line the report's code shows too)."""
    binding = forward_binding(class_name, fn)
    target = binding.factory if binding is not None else fn
    if target not in found.objects:
        found.objects.append(target)
    if binding is None:
        return fn.__name__
    found.bindings[binding.name] = binding.line().split(" = ", 1)[1]
    return binding.name


def _forwards_table(assembly: Assembly, callables: _Callables, classes: list[str]) -> str:
    """Fill `FORWARDS` (and `MASK_CONSUMERS`) when the copied code reads them (`run_layer`)."""
    names = {d.name for d in assembly.definitions}
    lines = []
    if "FORWARDS" in names:
        entries = ", ".join(f"{c!r}: {callables.forward_of[c]}" for c in classes)
        lines.append(f"FORWARDS.update({{{entries}}})  # what `run_layer` looks up")
    if "MASK_CONSUMERS" in names:
        consumers = [c for c in classes if c in MASK_CONSUMERS]
        lines.append(f"MASK_CONSUMERS.update({consumers!r})")
    return "\n".join(lines)


def _activations(assembly: Assembly, nodes: list[LayerNode]) -> dict[str, Callable]:
    """The activations the program may look up by name: those the configs name, and those
    the copied code names (a recurrent layer's default `recurrent_activation`)."""
    if "ACTIVATIONS" not in {d.name for d in assembly.definitions}:
        return {}
    named = set(_strings([node.config for node in nodes]))
    named |= {
        node.value
        for d in assembly.definitions
        for node in ast.walk(ast.parse(textwrap.dedent(d.text)))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    return {name: ACTIVATIONS[name] for name in sorted(named) if name in ACTIVATIONS}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _activations_table(activations: dict[str, Callable]) -> str:
    if not activations:
        return ""
    entries = ", ".join(f"{name!r}: {fn.__name__}" for name, fn in activations.items())
    return f"ACTIVATIONS.update({{{entries}}})  # what `get_activation` looks up"


def _configs(nodes: list[LayerNode]) -> str:
    table = {node.name: _plain(node.config) for node in nodes if _forward_needed(node)}
    return "CONFIG = " + pprint.pformat(table, width=100, sort_dicts=False)


def _plain(value: Any) -> Any:
    """JSON-like values only, so the literal needs nothing to be read back."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # a NumPy scalar
        return value.item()
    return value


def _identifier(name: str) -> str:
    text = re.sub(r"\W", "_", name)
    return "_" + text if not text or text[0].isdigit() else text


# Writing the functions --------------------------------------------------------------------


def _as_outputs_fn() -> Callable:
    from app.reference.forwards import as_outputs

    return as_outputs


_AS_OUTPUTS = _as_outputs_fn()
RETURNS_LISTS = re.compile(r"return \[|as_outputs\(|return outputs|-> list")


class _Writer:
    """Writes one function per graph (the model, each nested model)."""

    def __init__(self, callables: _Callables, taken: set[str], masked: bool) -> None:
        self.callables, self.masked = callables, masked
        self.taken = taken | set(dir(__builtins__)) | {"CONFIG", "inputs", "weights", "masks"}
        self.nested: list[str] = []
        self.nested_names: dict[str, str] = {}  # nested model's layer name -> its function

    def graph_function(self, name: str, graph: ModelGraph, top: bool) -> str:
        variables: dict[tuple[str, int], str] = {}
        local_names: set[str] = set()
        tensors: dict[tuple[str, int, int], str] = {}
        masks: dict[tuple[str, int, int], str] = {}
        lines = []
        for i, ref in enumerate(graph.inputs):
            var = self._variable(ref.layer, local_names)
            dtype = variable_dtype(graph.layer(ref.layer).config)
            given = f"np.asarray(inputs[{i}])"
            if half_compute_dtype(dtype):  # a float16 or bfloat16 Input, as float32
                lines.append(f"{var} = rounded({given}.astype('float32'), {dtype!r})")
            else:
                lines.append(f"{var} = {given}.astype({dtype!r}, copy=False)")
            tensors[_key(ref)] = var
            masks[_key(ref)] = f"masks[{i}]" if self.masked and not top else "None"
        for node, call in schedule(graph):
            var = self._variable(node.name if call == 0 else f"{node.name}_call{call}", local_names)
            variables[(node.name, call)] = var
            lines += self._call_lines(node, call, var, tensors, masks)
        outs = ", ".join(tensors[_key(r)] for r in graph.outputs)
        if self.masked and not top:
            out_masks = ", ".join(masks[_key(r)] for r in graph.outputs)
            lines.append(f"return [{outs}], [{out_masks}]")
        else:
            lines.append(f"return [{outs}]")
        signature = "inputs, masks, weights" if self.masked and not top else "inputs, weights"
        returned = "(its outputs, their masks)" if self.masked else "its outputs"
        doc = (
            '    """The model\'s outputs (a list, one per output) for `inputs` (a list, one '
            'array per Input, batch first)."""\n'
            if top
            else f'    """The nested model {graph.name!r}: {returned}."""\n'
        )
        body = "\n".join("    " + line for line in lines)
        return f"def {name}({signature}):\n{doc}{body}"

    def _variable(self, layer_name: str, local_names: set[str]) -> str:
        base = _identifier(layer_name)
        if keyword.iskeyword(base) or base in self.taken:
            base += "_"
        name, n = base, 1
        while name in local_names:
            n += 1
            name = f"{base}_{n}"
        local_names.add(name)
        return name

    def _call_lines(
        self, node: LayerNode, call: int, var: str, tensors: dict, masks: dict
    ) -> list[str]:
        refs = node.calls[call]
        args = ", ".join(tensors[_key(r)] for r in refs)
        arg_masks = [masks[_key(r)] for r in refs]
        count = _output_count(node, call)
        if node.inner is not None:
            fn = self._nested(node)
            count = len(node.inner.outputs)
            if self.masked:
                line = f"{var}, {var}_masks = {fn}([{args}], [{', '.join(arg_masks)}], weights)"
                self._record(node, call, var, tensors, masks, count, True, f"{var}_masks")
                return [line]
            self._record(node, call, var, tensors, masks, count, True)
            return [f"{var} = {fn}([{args}], weights)"]
        # Tensors passed by keyword are initial states (`_refuse_unwritable` let no other
        # kind through); with them Keras hands the layer no mask, as `_run_call` does.
        states = [tensors[_key(r)] for r in _extras(node, call)]
        operands = [*(tensors[_key(r)] for r in refs), *states]
        fn = self.callables.forward_of[node.class_name]
        mask_arg = ""
        if node.class_name in MASK_CONSUMERS and any(m != "None" for m in arg_masks):
            if not states:
                mask_arg = f", masks=[{', '.join(arg_masks)}]"
        half = _half(node)
        weights_text = f"layer_weights(weights, {node.name!r})"
        if half:  # Keras casts the inputs, and the variables it autocasts, to the dtype
            operands = [f"rounded({operand}, {half!r})" for operand in operands]
            if not traits_of(node.class_name).float32_variables:
                weights_text = f"{{k: rounded(w, {half!r}) for k, w in {weights_text}.items()}}"
        args = ", ".join(operands)
        call_text = f"{fn}(CONFIG[{node.name!r}], {weights_text}, [{args}], False{mask_arg})"
        if _wrapped(node, call):
            call_text = f"as_outputs({call_text})[0]"
        lines = [f"{var} = {call_text}"]
        if half:  # and rounds its outputs to it
            rounding = f"rounded({var}, {half!r})"
            many = f"[rounded(t, {half!r}) for t in {var}]"
            lines.append(f"{var} = {many if count > 1 else rounding}")
        rule = self.callables.rule_of.get(node.class_name)
        if self.masked and rule is not None:
            outs = var if count > 1 else f"[{var}]"
            previous = ", ".join(arg_masks)
            seen = ", ".join(tensors[_key(r)] for r in refs)
            lines.append(
                f"{var}_masks = {rule}(CONFIG[{node.name!r}], [{seen}], [{previous}], {outs})"
            )
            self._record(node, call, var, tensors, masks, count, count > 1, f"{var}_masks")
        else:
            passed = arg_masks[0] if arg_masks else "None"
            first = self.masked and lookup_rule(node.class_name) is first_input_mask
            same = passed if first else None
            self._record(node, call, var, tensors, masks, count, count > 1, same_mask=same)
        return lines

    def _record(
        self, node, call, var, tensors, masks, count, indexed, masks_var=None, same_mask=None
    ):
        """Name each output tensor of the call (`var`, or `var[i]` for a list), and its mask."""
        for index in range(count):
            tensors[(node.name, call, index)] = f"{var}[{index}]" if indexed else var
            if masks_var is not None:
                masks[(node.name, call, index)] = f"{masks_var}[{index}]"
            else:
                masks[(node.name, call, index)] = same_mask or "None"

    def _nested(self, node: LayerNode) -> str:
        """The function of a nested model, written once however often it is called."""
        if node.name not in self.nested_names:
            name = self._variable("model_" + node.name, self.taken)
            self.taken.add(name)
            assert node.inner is not None
            self.nested_names[node.name] = name
            self.nested.append(self.graph_function(name, node.inner, top=False))
        return self.nested_names[node.name]


def _half(node: LayerNode) -> str | None:
    """`float16` or `bfloat16` when the layer computes in it (not a nested model, whose own
    layers say)."""
    return None if node.inner is not None else half_compute_dtype(compute_dtype(node.config))


def _extras(node: LayerNode, call: int) -> list[TensorRef]:
    return node.call_extras[call] if call < len(node.call_extras) else []


def _output_count(node: LayerNode, call: int) -> int:
    """How many tensors the call gives: its output shape is one shape, or a list of them."""
    tree = node.output_shapes[call] if call < len(node.output_shapes) else None
    return len(tree) if isinstance(tree, list) and len(tree) > 1 else 1


def _wrapped(node: LayerNode, call: int) -> bool:
    """A one-output call written `as_outputs(...)[0]`: its forward may give a list."""
    if node.inner is not None or _output_count(node, call) > 1:
        return False
    tree = node.output_shapes[call] if call < len(node.output_shapes) else None
    return isinstance(tree, list) or _may_return_list(node.class_name)


def _may_return_list(class_name: str) -> bool:
    """Whether the class's forward may hand back a list for one output (Bidirectional's
    merge does): the call is then written `as_outputs(...)[0]`."""
    fn = FORWARDS[class_name]
    return "<locals>" not in fn.__qualname__ and bool(RETURNS_LISTS.search(definition_text(fn)))


def lookup_rule(class_name: str) -> Callable:
    entry = lookup(class_name)
    return entry.mask_rule if entry is not None else drops_mask


def _key(ref: TensorRef) -> tuple[str, int, int]:
    return (ref.layer, ref.node_index, ref.tensor_index)


_TEMPLATE = '''\
"""{title}

A standalone NumPy forward of this Keras model, written by keras-explainer: every function
above `CONFIG` is keras-explainer's reference forward (app/reference/), copied as written.

    python model_forward.py              # runs inputs.npy (or inputs.npz) beside this file
    python model_forward.py x.npy        # your own inputs (.npz: x0, x1, ... for several)

It prints the model's outputs and, when expected.npz (what Keras' predict returned for the
check's inputs) is beside it and no inputs were given, the largest difference from Keras;
it exits 1 over the check's tolerance, except for an output the check passed on Keras' own
inputs (expected.npz keeps the check's note on it: the network amplifies float32 rounding).
Needs only NumPy. Weights: weights.npz, keyed `layer_name/role`.
"""

from __future__ import annotations

{definitions}


# Each layer's config, as the model file gives it.
{configs}


def layer_weights(weights, layer):
    """The weights of `layer`, keyed by role (`kernel`, `gamma`, ...): `weights.npz` holds
    them as `layer/role`."""
    start = layer + "/"
    return {{key[len(start):]: value for key, value in weights.items() if key.startswith(start)}}


{functions}


INPUT_COUNT = {input_count}
OUTPUT_NAMES = {output_names!r}
TOLERANCE = {tolerance}  # the check's: largest difference relative to Keras' output scale


def load_inputs(path):
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as npz:
            return [npz[f"x{{i}}"] for i in range(INPUT_COUNT)]
    return [np.load(path, allow_pickle=False)]


def passed_on_keras_inputs(name, note):
    """An output over the tolerance end to end that the check passed (`note`: the check's
    words, kept in expected.npz): our forward of the output's layer, fed Keras' own outputs
    of its inbound layers, is within the tolerance of Keras' output, so the difference end to
    end is float32 rounding the network carries and amplifies from layer to layer."""
    return (
        f"{{name}}: over the check's tolerance {{TOLERANCE:g}} end to end, and passed by the "
        f"check, which found its layer within the tolerance on Keras' own inputs: {{note}}\\n"
        "This network amplifies float32 rounding by itself: the difference end to end is "
        "rounding grown from layer to layer, not a different computation."
    )


def main(argv):
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    with np.load(here / "weights.npz", allow_pickle=False) as npz:
        weights = dict(npz)
    default = here / ("inputs.npy" if INPUT_COUNT == 1 else "inputs.npz")
    path = Path(argv[0]) if argv else default
    outputs = forward(load_inputs(path), weights)
    with np.printoptions(precision=7, suppress=True, threshold=1000, linewidth=100):
        for name, output in zip(OUTPUT_NAMES, outputs):
            print(f"{{name}} {{output.shape}}:")
            print(np.array2string(output, separator=", "))
    expected = here / "expected.npz"
    if argv or not expected.is_file():
        return 0
    with np.load(expected, allow_pickle=False) as npz:
        keras = [npz[f"y{{i}}"] for i in range(len(outputs))]
        noted = [f"note{{i}}" in npz.files for i in range(len(outputs))]  # the check's notes
        notes = [str(npz[f"note{{i}}"]) if noted[i] else None for i in range(len(outputs))]
    worst = 0.0
    for name, ours, theirs, note in zip(OUTPUT_NAMES, outputs, keras, notes):
        difference = float(np.max(np.abs(ours.astype(np.float64) - theirs), initial=0.0))
        scale = max(float(np.max(np.abs(theirs.astype(np.float64)), initial=0.0)), 1e-6)
        print(f"largest difference from Keras' output: {{difference:.3g}}", end=" ")
        print(f"(relative to its largest value: {{difference / scale:.3g}})")
        if TOLERANCE is not None and difference / scale > TOLERANCE and note is not None:
            print(passed_on_keras_inputs(name, note))
        else:
            worst = max(worst, difference / scale)
    if TOLERANCE is not None and worst > TOLERANCE:
        print(f"over the check's tolerance {{TOLERANCE:g}}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
'''
