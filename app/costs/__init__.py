"""Cost rules per layer class: MACs and FLOPs from config and shapes (see `rules`).

Family modules register their rules by class name (`@cost("Dense")`); importing this package
imports them all. The layer registry puts each rule on its class's entry, as it does the
forwards; a rule imports `app.layers` only inside its body (the layers import this package).
"""

from app.costs import (  # noqa: F401  (importing a family registers its rules)
    array_operations,
    attention,
    convolution,
    core,
    elementwise,
    math_operations,
    recurrent,
)
from app.costs.rules import COSTS, UNKNOWN_DIM, Cost, CostFn, cost

__all__ = ["COSTS", "UNKNOWN_DIM", "Cost", "CostFn", "cost"]
