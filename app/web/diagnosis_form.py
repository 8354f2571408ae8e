"""A diagnosis request (`yours`, `inputs`, the model again) as the API route and the page
form both read it, and its OpenAPI body and example."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from app.diagnoses import Diagnoses, DiagnosisAsk
from app.diagnosis.schemas import Diagnosis
from app.errors import ExplainerError, InvalidRequest
from app.reports import Reports
from app.schemas import Report
from app.web.deps import get_diagnoses, upload_limits
from app.web.upload import Received, receive

DIAGNOSIS_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["yours"],
                "properties": {
                    "yours": {
                        "type": "string",
                        "format": "binary",
                        "description": "Your numbers: .npz keyed by layer name, .npy for a "
                        'single-output model, or JSON {"layer_name": array}.',
                    },
                    "inputs": {
                        "type": "string",
                        "format": "binary",
                        "description": "The inputs you used (.npy/.npz or JSON); default: "
                        "the check's seeded inputs.",
                    },
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "The model again, when the server keeps no uploads "
                        "(KEX_KEEP_UPLOADS): the same bytes.",
                    },
                    "spec": {"type": "string", "description": "The same spec again."},
                },
            }
        },
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["yours"],
                "properties": {
                    "yours": {"description": '{"layer_name": array}'},
                    "inputs": {"description": "A JSON array (or an object by Input name)."},
                    "spec": {"description": "The same spec again."},
                },
            },
            "example": {
                "yours": {"batch_normalization": [[-1, -1], [1, 1]]},
                "inputs": [[0, 1], [2, 3]],
            },
        },
    },
}

DIAGNOSIS_EXAMPLE = {
    "verdict": "explained",
    "message": "Your numbers part from Keras at batch_normalization. Batch statistics at "
    "inference on batch_normalization reproduces them (within 0, where Keras is 2 away).",
    "tolerance": 0.0001,
    "against_note": "Compared with our reference forward, which the check found equal to "
    "Keras within 0.0001 of each layer's scale on the check's inputs.",
    "tensors": [
        {
            "name": "batch_normalization",
            "shape": [2, 2],
            "against": "reference",
            "max_abs_error": 1.9995,
            "max_rel_error": 0.6668,
            "expected_float32_error": 5.1e-07,
            "matches": False,
        }
    ],
    "first_divergence": "batch_normalization",
    "mistakes": [
        {
            "code": "batchnorm-batch-statistics",
            "layer": "batch_normalization",
            "layers": ["batch_normalization"],
            "class_name": "BatchNormalization",
            "title": "Batch statistics at inference",
            "form": "without epsilon",
            "evidence": {
                "tensor": "batch_normalization",
                "error_to_mistake": 0.0,
                "error_to_keras": 1.9995,
            },
            "explanation": "At inference (predict, or training=False) Keras' "
            "BatchNormalization normalizes with moving_mean and moving_variance, ... Keras "
            "gives x / √(1 + 0.001) = 0.9995004 · x.",
            "fix": "(x - moving_mean) / np.sqrt(moving_variance + epsilon) * gamma + beta  "
            "# not x.mean(axis=0), x.var(axis=0)",
        }
    ],
    "difference": None,
    "searched": 31,
    "search_s": 0.002,
}


def has_yours(received: Received) -> bool:
    return received.yours_path is not None or received.fields.get("yours") is not None


def diagnosis_ask(received: Received) -> DiagnosisAsk:
    return DiagnosisAsk(
        yours_path=received.yours_path,
        yours_json=received.fields.get("yours"),
        inputs_path=received.inputs_path,
        inputs_json=received.fields.get("inputs"),
        model_path=received.model_path,
        spec=received.fields.get("spec"),
    )


async def diagnose_received(request: Request, report: Report) -> Diagnosis:
    """Read the request (multipart or JSON), diagnose `yours` against `report`'s model."""
    received = await receive(request, upload_limits(request), request.app.state.work_dir)
    try:
        if not has_yours(received):
            raise InvalidRequest(
                "Send your numbers as `yours`: a .npz keyed by layer name, a .npy for a "
                'single output, or JSON {"layer_name": array}.',
                {"field": "yours"},
            )
        ask = diagnosis_ask(received)
        return await run_in_threadpool(get_diagnoses(request).run, report, ask)
    finally:
        await run_in_threadpool(received.discard)


def diagnose_stored(
    reports: Reports, diagnoses: Diagnoses, report: Report, created: bool, ask: DiagnosisAsk
) -> Diagnosis:
    """The diagnosis asked for with `POST /api/v1/reports`, once the report is stored (its
    numbers were read before it was: Reports.create's `accept`). A refusal only the model
    can tell (an array of the wrong shape) removes the report this request stored, so that
    a refused `yours` leaves nothing stored."""
    try:
        return diagnoses.run(report, ask)
    except ExplainerError:
        if created:
            reports.forget(report.id)
        raise
