"""`keras-explainer export FILE -o DIR`: the files `GET /api/v1/reports/{id}/forward` zips."""

from __future__ import annotations

import numpy as np
import pytest

from app.cli import EXIT_NOT_CHECKED, EXIT_OK, main
from tests.support.api import npy_upload, post_file
from tests.support.exported import printed_numbers, run_program, unzip
from tests.support.models import SEED_INPUT, seed_spec

SEED_OUTPUT = [0.0, 0.9995004, 1.9990008, 2.9985013]


@pytest.mark.slow  # a Keras worker of its own (the command's) and the API's: about 50 s
def test_export_writes_the_api_files_and_the_program_gives_the_seed_answer(
    tmp_path, capsys, warm_pool
):
    spec = tmp_path / "seed.json"
    spec.write_text(seed_spec())
    np.save(tmp_path / "x.npy", SEED_INPUT)
    out = tmp_path / "out"
    assert main(["export", str(spec), "-o", str(out), "--inputs", str(tmp_path / "x.npy")]) == 0
    names = {"model_forward.py", "weights.npz", "inputs.npy", "expected.npz", "README.txt"}
    assert {p.name for p in out.iterdir()} == names
    assert set(capsys.readouterr().out.split()) == {str(out / n) for n in names}
    ran = run_program(out, tmp_path)
    assert ran.returncode == EXIT_OK, ran.stderr
    np.testing.assert_allclose(printed_numbers(ran.stdout), SEED_OUTPUT, atol=1e-7)
    with warm_pool.client(tmp_path / "api") as client:
        files = {"inputs": npy_upload(SEED_INPUT)}
        report = post_file(client, spec, files=files).json()
        zipped = client.get(f"/api/v1/reports/{report['id']}/forward").content
    api = unzip(zipped, tmp_path / "api-export")
    for name in ("model_forward.py", "README.txt"):
        assert (api / name).read_text() == (out / name).read_text()


def test_export_of_a_refused_file_exits_4_with_the_reason(corpus, tmp_path, capsys):
    path = corpus / "carnd_lambda_model.h5"
    assert main(["export", str(path), "-o", str(tmp_path / "out")]) == EXIT_NOT_CHECKED
    err = capsys.readouterr().err
    assert "export-refused" in err and "Lambda" in err
    assert not (tmp_path / "out").exists()
