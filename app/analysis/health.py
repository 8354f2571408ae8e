"""What the weights' values show, layer by layer: the report's `findings`.

    not-finite         a weight holds NaN or ±Inf values (counted by its statistics)
    looks-untrained    a kernel's statistics are its initializer's (app.analysis.untrained)
    bias-all-zero      a bias whose every value is exactly 0
    identical-filters  two or more output channels of a kernel equal bit for bit (not all 0)
    dead-channels      BatchNormalization channels a ReLU after it turns into 0 for every input

Every finding is read from one pass over each weight (`weight_scans`: the statistics and,
for kernels, a key per output channel); only a kernel whose keys repeat is read again, and
only at those channels.

Dead channels, precisely: at inference a BatchNormalization channel computes
gamma · (x − moving_mean) / √(moving_variance + epsilon) + beta. With gamma exactly 0 (and
moving_variance + epsilon > 0) that is beta for every finite input x; when beta ≤ 0 (or the
layer has no beta: center=False) and the layer's output goes to a ReLU (a ReLU layer with
negative_slope 0 and threshold 0, or an Activation relu or relu6), the ReLU gives 0 for
every input. Nothing weaker is provable from the weights alone: with gamma ≠ 0 the output
depends on x, whose range the weights do not bound.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from app.analysis.stats import WeightScan, weight_scan
from app.analysis.untrained import untrained_kernels
from app.graph import LayerNode, ModelGraph, WeightRef
from app.hand.rules import activation_name
from app.layers.registry import names_of, traits_of
from app.schemas import WeightFinding, WeightStats

FILTER_ROLES = ("kernel", "pointwise_kernel")  # whose output channels are filters
SCAN_THREADS = 2  # this service's machines have two cores
CHANNELS_LISTED = 4096
BN_CLASSES = names_of("BatchNormalization")
RELU_CLASSES = names_of("ReLU")
ACTIVATION_CLASSES = names_of("Activation")
RELU_ACTIVATIONS = ("relu", "relu6")

Scans = dict[int, WeightScan]  # by id() of the graph's WeightRef


def weight_scans(graph: ModelGraph) -> Scans:
    """One pass over every stored weight: statistics, and a kernel's channel keys, in model
    order. The weights are shared among `SCAN_THREADS` threads, largest first: a scan spends
    its time in reads and NumPy loops, which let go of Python's lock, so on two free cores
    ResNet50's 25.6 million values take about 0.6 of the clock they take on one (best of 7
    under a load of 6: 219 ms against 331), for ~4% more CPU. Each weight is scanned whole
    by one thread, so its figures are those of one pass, bit for bit. A reading process
    shares them with a sibling process instead (app.analysis.shared_scans)."""
    # Here: a reading process shares the scans with a sibling instead (the tables' command
    # then imports no thread pool, ~1.5 ms).
    from concurrent.futures import ThreadPoolExecutor

    stored = stored_weights(graph)
    largest_first = sorted(stored, key=lambda pair: -math.prod(pair[1].values.shape))
    with ThreadPoolExecutor(SCAN_THREADS, thread_name_prefix="weight-scan") as pool:
        scans = {
            id(weight): pool.submit(weight_scan, weight.values, channel_axis(node, weight))
            for node, weight in largest_first
        }
        return {id(weight): scans[id(weight)].result() for _, weight in stored}


def stored_weights(graph: ModelGraph) -> list[tuple[LayerNode, WeightRef]]:
    """Every weight with stored values, with its layer, in model order."""
    return [
        (node, weight)
        for _, node in graph.walk()
        for weight in node.weights
        if weight.values is not None
    ]


def channel_axis(node: LayerNode, weight: WeightRef) -> int | None:
    """The axis of a kernel's output channels (filters); None for other weights."""
    if weight.role not in FILTER_ROLES or len(weight.shape) < 2:
        return None
    return traits_of(node.class_name).channel_axis if weight.role == "kernel" else -1


def health_findings(
    graph: ModelGraph, scans: Scans, parents: tuple[str, ...] = ()
) -> list[WeightFinding]:
    """Every finding, in model order (a layer's weights in get_weights() order)."""
    known = {key: scan.stats for key, scan in scans.items() if scan.stats is not None}
    untrained = untrained_kernels(_tested(graph, known), known)  # a list: no call back here
    return _findings(graph, scans, untrained, parents)


def _tested(graph: ModelGraph, known: dict[int, WeightStats]) -> list[tuple]:
    """Every weight with statistics, with its layer: what the untrained test looks at."""
    return [
        (node, weight, known[id(weight)])
        for _, node in graph.walk()
        for weight in node.weights
        if id(weight) in known
    ]


def _findings(
    graph: ModelGraph, scans: Scans, untrained: dict[int, str], parents: tuple[str, ...]
) -> list[WeightFinding]:
    found: list[WeightFinding] = []
    readers = _readers(graph)
    for node in graph.keras_layers():
        if node.inner is not None:
            found += _findings(node.inner, scans, untrained, (*parents, node.name))
            continue
        where = {"layer": node.name, "path": list(parents)}
        for weight in node.weights:
            scan = scans.get(id(weight))
            if scan is not None and scan.stats is not None:
                found += [
                    WeightFinding(**where, weight=weight.name, **fields)
                    for fields in _weight_findings(node, weight, scan, untrained.get(id(weight)))
                ]
        dead = _dead_channels(node, readers.get(node.name, []), scans)
        if dead is not None:
            found.append(WeightFinding(**where, **dead))
    return found


def _weight_findings(
    node: LayerNode, weight: WeightRef, scan: WeightScan, untrained: str | None
) -> Iterator[dict]:
    stats = scan.stats
    assert stats is not None
    if stats.nan or stats.inf:
        yield _not_finite(weight, stats)
    if untrained is not None:
        yield _untrained(untrained)
    if weight.role == "bias" and stats.zeros == weight.count:
        yield _zero_bias(node, weight)
    if scan.channel_keys is not None:
        axis = channel_axis(node, weight)
        assert axis is not None
        groups = identical_channels(weight, scan.channel_keys, axis)
        if groups:
            yield _identical(weight.shape[axis], groups)


def _not_finite(weight: WeightRef, stats: WeightStats) -> dict:
    counts = [f"{n:,} {what}" for n, what in ((stats.nan, "NaN"), (stats.inf, "±Inf")) if n]
    return {
        "code": "not-finite",
        "message": (
            f"{' and '.join(counts)} among its {weight.count:,} values: a forward pass "
            "through it gives NaN or Inf (its statistics are over the finite values). Such "
            "values usually come from a training step that diverged."
        ),
    }


def _untrained(evidence: str) -> dict:
    return {
        "code": "looks-untrained",
        "message": (
            f"{evidence[:1].upper()}{evidence[1:]}. Training "
            "moves a kernel's values past the bound of its draw and its std away from the "
            "expected one almost surely, so this layer looks untrained: never fitted, or "
            "re-initialized before it was saved."
        ),
    }


def _zero_bias(node: LayerNode, weight: WeightRef) -> dict:
    initial = _named_zeros(node.config.get("bias_initializer", "zeros"))
    return {
        "code": "bias-all-zero",
        "message": (
            f"All {weight.count:,} values of its bias are exactly 0"
            + (", the value its bias_initializer (zeros) gives" if initial else "")
            + ". Training almost always moves a bias off 0, so an all-zero bias is typical of "
            "a layer that was never trained; it can also be on purpose (a bias zeroed, or "
            "folded into the next layer)."
        ),
    }


def _named_zeros(spec: object) -> bool:
    """A layer config's bias_initializer is Zeros (a name or a serialized object)."""
    name = spec.get("class_name") if isinstance(spec, dict) else spec
    return isinstance(name, str) and name.lower() in ("zeros", "zero")


def identical_channels(weight: WeightRef, keys: np.ndarray, axis: int) -> list[list[int]]:
    """Groups of output channels equal bit for bit and not all 0, each in channel order.
    Only channels whose keys repeat are read, and compared value by value."""
    assert weight.values is not None
    ordered = np.sort(keys)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if not repeated.size:  # nearly every kernel: no key twice
        return []
    candidates = np.flatnonzero(np.isin(keys, repeated))
    index = (slice(None),) * (len(weight.shape) + axis) + (candidates.tolist(),)
    values = np.moveaxis(np.asarray(weight.values[index]), axis, 0)
    rows = np.ascontiguousarray(values.reshape(len(candidates), -1))
    groups: dict[bytes, list[int]] = {}
    for channel, row in zip(candidates.tolist(), rows, strict=True):
        if np.any(row != 0):
            groups.setdefault(row.tobytes(), []).append(channel)
    return [group for group in groups.values() if len(group) > 1]


def _identical(channel_count: int, groups: list[list[int]]) -> dict:
    listed = ", ".join(" = ".join(str(c) for c in group) for group in groups[:8])
    more = f", and {len(groups) - 8:,} more groups" if len(groups) > 8 else ""
    channels = [c for group in groups for c in group]
    return {
        "code": "identical-filters",
        "message": (
            f"{len(channels):,} of its {channel_count:,} output "
            f"channels are copies of one another, bit for bit ({listed}{more}): each copy "
            "computes what another already does. Copies usually come from a symmetric "
            "initialization (a constant kernel) or from channels duplicated by hand."
        ),
        "channels": channels[:CHANNELS_LISTED],
    }


def _dead_channels(node: LayerNode, readers: list[LayerNode], scans: Scans) -> dict | None:
    """The dead-channels finding of a BatchNormalization layer, if it has any (see above).
    Its arrays are read again only when gamma holds a 0 (its statistics count them)."""
    if node.class_name not in BN_CLASSES or not node.weights:
        return None
    by_role = {w.role: w for w in node.weights}
    gamma = by_role.get("gamma")
    scan = scans.get(id(gamma)) if gamma is not None else None
    if scan is None or scan.stats is None or not scan.stats.zeros:
        return None
    if "moving_variance" not in by_role:
        return None
    relu = next((f"{r.class_name} {r.name!r}" for r in readers if _is_relu(r)), None)
    if relu is None:
        return None
    dead = _dead(node, by_role)
    if not dead.size:
        return None
    channels = dead.size
    return {
        "code": "dead-channels",
        "message": (
            f"{channels:,} of its {gamma.count:,} channels are dead after {relu}: gamma is "
            "exactly 0 there, so the layer outputs beta whatever its input, and beta is ≤ 0, "
            f"which {relu} turns into 0. These channels are 0 for every input; the filters "
            "feeding them, and the weights reading them, do nothing."
        ),
        "channels": dead[:CHANNELS_LISTED].tolist(),
    }


def _dead(node: LayerNode, by_role: dict[str, WeightRef]) -> np.ndarray:
    gamma = _values(by_role["gamma"])
    beta = _values(by_role["beta"]) if "beta" in by_role else np.zeros_like(gamma)
    variance = _values(by_role["moving_variance"])
    epsilon = np.float32(node.config.get("epsilon", 1e-3))
    defined = np.isfinite(beta) & (variance + epsilon > 0)
    return np.flatnonzero((gamma == 0) & (beta <= 0) & defined)


def _values(weight: WeightRef) -> np.ndarray:
    assert weight.values is not None
    return np.asarray(weight.values[...], dtype=np.float32).reshape(-1)


def _readers(graph: ModelGraph) -> dict[str, list[LayerNode]]:
    """Layer name → the layers of the same graph that read any of its outputs."""
    readers: dict[str, list[LayerNode]] = {}
    for reader in graph.layers:
        for name in dict.fromkeys(ref.layer for call in reader.calls for ref in call):
            readers.setdefault(name, []).append(reader)
    return readers


def _is_relu(node: LayerNode) -> bool:
    cfg = node.config
    if node.class_name in RELU_CLASSES:
        return not cfg.get("negative_slope") and not cfg.get("threshold")
    if node.class_name in ACTIVATION_CLASSES:
        return activation_name(cfg.get("activation")) in RELU_ACTIVATIONS
    return False
