"""What the Keras 3 copy (app.check.keras3_copy) changes in a Keras 2 config, each change with
the sentence the check's report gives it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Removal:
    layer: str
    class_name: str
    key: str
    value: Any

    def sentence(self) -> str:
        return f"{self.layer} ({self.class_name}): {self.key}={json.dumps(self.value)}"


@dataclass(frozen=True)
class Rewrite(Removal):
    """A Keras 2 spelling written the way Keras 3 reads it; `value` says how, in words."""

    def sentence(self) -> str:
        return f"{self.layer} ({self.class_name}): {self.key} {self.value}"


@dataclass(frozen=True)
class Renamed(Removal):
    """A layer or model name Keras 3 refuses; `value` is the name the copy gives it."""

    def sentence(self) -> str:
        return (
            f'{self.layer} ({self.class_name}): named {self.value} (Keras 3 refuses "/" in a name)'
        )


@dataclass(frozen=True)
class Blocker(Removal):
    """A refused key that does not hold its default: the model means something Keras 3
    cannot express."""
