"""`keras-explainer inspect FILE --inputs x.npy --yours mine.npz`."""

from __future__ import annotations

import json

import numpy as np

from app.cli import main
from tests.support.models import SEED_INPUT, seed_spec

SPEC = seed_spec()  # once: a second model built would name its layer batch_normalization_1
BN = json.loads(SPEC)["config"]["layers"][-1]["config"]["name"]  # _1, _2 after other tests


def seed_files(tmp_path, yours):
    (tmp_path / "seed.json").write_text(SPEC)
    np.save(tmp_path / "x.npy", SEED_INPUT)
    np.savez(tmp_path / "mine.npz", **{BN: np.asarray(yours, np.float32)})
    return [str(tmp_path / n) for n in ("seed.json", "x.npy", "mine.npz")]


def test_inspect_yours_names_batch_statistics_and_exits_1(tmp_path, capsys):
    spec, x, mine = seed_files(tmp_path, [[-1, -1], [1, 1]])
    code = main(["inspect", spec, "--inputs", x, "--yours", mine, "--json"])
    assert code == 1
    body = json.loads(capsys.readouterr().out)
    assert body["diagnosis"]["mistakes"][0]["code"] == "batchnorm-batch-statistics"


def test_inspect_yours_equal_to_keras_exits_0(tmp_path, capsys):
    spec, x, mine = seed_files(tmp_path, SEED_INPUT / np.sqrt(np.float32(1.001)))
    code = main(["inspect", spec, "--inputs", x, "--yours", mine])
    assert code == 0
    assert "match Keras within float32 noise" in capsys.readouterr().out
