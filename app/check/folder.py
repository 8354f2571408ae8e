"""A check's working folder and the name of every file in it, in one place.

check-XXXX/                  made by the runner, removed when the check ends
  model | spec.json          the upload (linked) or the spec's JSON text     (admission)
  model-keras3               a Keras 2 file without keys Keras 3 refuses     (reference side)
  inputs.npz                 x0, x1, ...: the caller's or seeded             (admission, pipeline)
  weights.npz                w0, w1, ...: a spec's weights                   (reference side)
  reference.json             our side's answer (ReferenceResult)             (reference side)
  reference/<i>.npy          our outputs, each layer's deleted once compared  (reference side)
  reference/written.jsonl    the layers written so far (app.check.streaming)  (reference side)
  result.json                the Keras worker's answer (app.check.keras.jobs) (Keras side)
  outputs/<i>.npy            Keras' outputs, each layer's deleted once compared
  outputs/layers.json        each layer's files; outputs/written.jsonl: those written so far
  kept/<i>.npy               Keras' outputs a layer still to be compared, or to be judged
                             again on Keras' inputs, takes (app.check.rejudge) (pipeline)
  rejudge/asked.jsonl        layers to run on Keras' inputs; judged.jsonl and <i>.npy: our
                             answers (app.check.rejudge_side)   (pipeline, reference side)
  keras-waiting              while the Keras worker waits for the comparison  (Keras side)
  reference-ended            our side ended without outputs: Keras need not wait (pipeline)
  export/                    the standalone program (app.export.bundle)    (reference side,
                             Keras' outputs added by the pipeline; kept by the runner)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Kind = Literal["file", "spec"]


@dataclass(frozen=True)
class CheckFolder:
    """The folder one check owns, and the paths of its files."""

    path: Path

    MODEL = "model"
    SPEC = "spec.json"
    KERAS3_COPY = "model-keras3"
    INPUTS = "inputs.npz"
    WEIGHTS = "weights.npz"
    REFERENCE_RESULT = "reference.json"
    REFERENCE_OUTPUTS = "reference"
    EXPORT = "export"

    def model(self, kind: Kind) -> Path:
        """Where the model is: the file as uploaded, or the spec's JSON text."""
        return self.path / (self.MODEL if kind == "file" else self.SPEC)

    @property
    def keras3_copy(self) -> Path:
        return self.path / self.KERAS3_COPY

    @property
    def inputs(self) -> Path:
        return self.path / self.INPUTS

    @property
    def weights(self) -> Path:
        return self.path / self.WEIGHTS

    @property
    def reference_result(self) -> Path:
        return self.path / self.REFERENCE_RESULT

    @property
    def export(self) -> Path:
        return self.path / self.EXPORT

    @property
    def reference_outputs(self) -> Path:
        return self.path / self.REFERENCE_OUTPUTS
