"""Which call the Keras side makes: an eager `probe(x, training=False)` against `predict`.

    .venv/bin/python bench/keras_call.py [--apps all|none|ResNet50,MobileNetV2] [--no-corpus]

For each model, the worker's own job (app.check.keras.worker.run_job: load, the every-layer
model, outputs asked for in groups, written as .npy) runs twice, each time in a fresh process
warmed like a worker (TensorFlow imported, a tiny model run): once with keras_call=call, once
with keras_call=predict. Printed per model: the seconds each run spent in Keras' call
(`predict_s`), and how far the two runs' outputs are apart over every layer: how many of
them are bit for bit equal, and the largest difference relative to the layer's largest
magnitude (float32 noise is about 1e-7).

Models: every keras.applications architecture at its default input size (weights=None,
inputs Normal(0, 1), batch 2), and every model file of ../shared/corpus that has inputs saved
beside it (`<name>.input.npy|npz`, `<name>.tf_keras.input.npy|npz`), on those inputs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

import numpy as np  # noqa: E402

from app.check.keras.jobs import JobRequest, load_output, write_arrays  # noqa: E402

CORPUS = PROJECT.parent / "shared" / "corpus"
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5", ".model")
CALLS = ("call", "predict")


def corpus_models() -> list[tuple[str, Path, Path]]:
    """(name, model file, inputs file) for each corpus model with inputs beside it."""
    found = []
    for path in sorted(CORPUS.rglob("*")):
        if path.suffix not in MODEL_SUFFIXES or not path.is_file():
            continue
        stem = path.name[: -len(path.suffix)]
        for infix in ("", ".tf_keras"):
            for ext in ("npy", "npz"):
                inputs = path.with_name(f"{stem}{infix}.input.{ext}")
                if inputs.is_file():
                    found.append((str(path.relative_to(CORPUS)), path, inputs))
                    break
            else:
                continue
            break
    return found


def application(name: str, folder: Path) -> tuple[Path, list[np.ndarray]]:
    import keras

    model = getattr(keras.applications, name)(weights=None)
    path = folder / f"{name}.keras"
    model.save(path)
    shape = (2, *model.input_shape[1:])
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    keras.backend.clear_session()
    return path, [x]


def saved_inputs(path: Path) -> list[np.ndarray]:
    if path.suffix == ".npy":
        return [np.load(path, allow_pickle=False)]
    with np.load(path, allow_pickle=False) as npz:
        return [npz[key] for key in npz.files]


def run_once(model: Path, inputs: Path, call: str, folder: Path) -> dict:
    """The worker's job in a fresh process; its result as JSON, and where its outputs are."""
    job = folder / call
    job.mkdir()
    os.link(model, job / model.name)
    os.link(inputs, job / "inputs.npz")
    request = JobRequest(
        job_dir=str(job),
        model_path=str(job / model.name),
        kind="file",
        inputs_path=str(job / "inputs.npz"),
        keras_call=call,
    )
    out = subprocess.run(
        [sys.executable, __file__, "--job", request.model_dump_json()],
        capture_output=True,
        text=True,
        cwd=PROJECT,
    )
    if out.returncode != 0:
        return {"status": "crashed", "code": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _job(line: str) -> None:
    import keras

    from app.check.keras.worker import run_job, warm_up

    warm_up(keras)
    result = run_job(keras, JobRequest.model_validate_json(line), lambda *_: None)
    print(result.model_dump_json(exclude_none=True))


def difference(job_a: Path, job_b: Path, a: dict, b: dict) -> tuple[int, int, float]:
    """(outputs bit for bit equal, outputs, largest |a - b| / max |b| over them)."""
    equal, total, worst = 0, 0, 0.0
    for la, lb in zip(a["layers"], b["layers"], strict=True):
        for pa, pb in zip(la["outputs"], lb["outputs"], strict=True):
            xa, xb = load_output(job_a, pa), load_output(job_b, pb)
            total += 1
            if xa.tobytes() == xb.tobytes():
                equal += 1
                continue
            xa, xb = xa.astype(np.float64), xb.astype(np.float64)
            scale = float(np.max(np.abs(xb))) or 1.0
            worst = max(worst, float(np.max(np.abs(xa - xb))) / scale)
    return equal, total, worst


def measure(name: str, model: Path, inputs: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="kex-call-") as scratch:
        folder = Path(scratch)
        results = {call: run_once(model, inputs, call, folder) for call in CALLS}
        row = {"model": name}
        for call, result in results.items():
            row[call] = result.get("timing", {}).get("predict_s")
            row[f"{call}_status"] = result.get("code") or result["status"]
        if all(r.get("status") == "ok" for r in results.values()):
            row["equal"], row["outputs"], row["rel"] = difference(
                folder / "call", folder / "predict", results["call"], results["predict"]
            )
    return row


def show(row: dict) -> None:
    if "outputs" not in row:
        print(f"{row['model']:58} not run: {row['call_status']} / {row['predict_status']}")
        return
    print(
        f"{row['model']:58} call {row['call']:7.2f} s  predict {row['predict']:7.2f} s  "
        f"bit-equal {row['equal']:4d}/{row['outputs']:<4d} max rel diff {row['rel']:.1e}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", default="all")
    parser.add_argument("--no-corpus", action="store_true")
    parser.add_argument("--job", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        return _job(args.job)
    import keras

    rows = []
    started = time.perf_counter()
    names = {"all": sorted(n for n in dir(keras.applications) if n[:1].isupper()), "none": []}
    for name in names.get(args.apps, args.apps.split(",")):
        with tempfile.TemporaryDirectory(prefix="kex-app-") as scratch:
            path, arrays = application(name, Path(scratch))
            write_arrays(inputs := Path(scratch) / "inputs.npz", "x", arrays)
            rows.append(measure(name, path, inputs))
            show(rows[-1])
    for name, path, saved in [] if args.no_corpus else corpus_models():
        with tempfile.TemporaryDirectory(prefix="kex-corpus-") as scratch:
            write_arrays(inputs := Path(scratch) / "inputs.npz", "x", saved_inputs(saved))
            rows.append(measure(name, path, inputs))
            show(rows[-1])
    summary(rows, time.perf_counter() - started)


def summary(rows: list[dict], seconds: float) -> None:
    ran = [row for row in rows if "outputs" in row]
    print(f"\n{len(ran)} of {len(rows)} models ran both ways ({seconds:.0f} s in all)")
    if not ran:
        return
    equal, outputs = sum(r["equal"] for r in ran), sum(r["outputs"] for r in ran)
    print(f"outputs bit for bit equal: {equal} of {outputs}")
    print(f"largest relative difference: {max(r['rel'] for r in ran):.1e}")
    call_s, predict_s = sum(r["call"] for r in ran), sum(r["predict"] for r in ran)
    print(f"Keras' runs summed: call {call_s:.1f} s, predict {predict_s:.1f} s")


if __name__ == "__main__":
    main()
