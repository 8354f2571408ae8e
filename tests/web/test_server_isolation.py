"""The serving process never imports TensorFlow or Keras, whatever it explains."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.files import saved
from tests.support.models import small_model

PROJECT = Path(__file__).resolve().parents[2]
CORPUS_FILES = ["hls4ml_keras_3layer_batch_norm.h5", "spam_gru_model.keras"]


def test_server_explains_every_format_without_importing_a_framework(tmp_path, corpus):
    model = small_model()
    spec = tmp_path / "spec.json"
    spec.write_text(model.to_json())
    files = [
        saved(model, tmp_path / "small.keras"),
        saved(model, tmp_path / "small.h5"),
        spec,
        *(corpus / name for name in CORPUS_FILES),
    ]
    run = subprocess.run(
        [sys.executable, "-m", "tests.web.explain_in_subprocess", *map(str, files)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["frameworks"] == []
    formats = {name: fmt for name, (status, fmt) in result["statuses"].items() if status == 201}
    assert formats == {
        "small.keras": "keras_v3",
        "small.h5": "legacy_h5",
        "spec.json": "spec_json",
        "hls4ml_keras_3layer_batch_norm.h5": "legacy_h5",
        "spam_gru_model.keras": "keras_v3",
    }
