"""Costs of the Keras operations that move array elements (`x[:, 0]`, `ops.reshape`,
`ops.concatenate`, ...): no arithmetic, so 0 MACs and 0 FLOPs, as Reshape and Concatenate."""

from __future__ import annotations

from app.costs.rules import cost, free
from app.reference.array_operations import ARRAY_OPERATIONS
from app.reference.operations import OPS_PREFIX

cost(*(OPS_PREFIX + name for name in ARRAY_OPERATIONS))(free)
