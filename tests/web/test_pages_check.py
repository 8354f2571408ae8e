"""The check on the report page: progress while it runs, then verdict, errors and outputs."""

from __future__ import annotations

import pytest

from app.schemas import CheckLayer, CheckOutput, CheckProgress, CheckReport
from app.web.check_view import stage_percent
from tests.support.api import make_client
from tests.support.models import seed_model
from tests.support.pages import fresh, get_report, page, readable, section, store, upload

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def app_and_report(tmp_path_factory):
    """A client without workers and the seed model's report, to give other checks to."""
    tmp = tmp_path_factory.mktemp("check")
    with make_client(tmp) as client:
        report = get_report(client, upload(client, fresh(seed_model), tmp, "seed.keras"))
        yield client, report


def with_check(client, report, report_id: str, check: CheckReport) -> str:
    return store(client, report.model_copy(update={"id": report_id, "check": check}))


def check_section(client, report_id: str) -> str:
    return section(page(client, f"/reports/{report_id}"), 'id="check"')


def layer(name: str, class_name: str, rel: float, verdict: str) -> CheckLayer:
    return CheckLayer(
        name=name,
        class_name=class_name,
        output_shape=[[2, 512]],
        max_abs_error=rel * 2,
        max_rel_error=rel,
        verdict=verdict,
    )


def failed_check() -> CheckReport:
    return CheckReport(
        status="failed",
        message="1 layer differs from Keras by more than 0.0001 of its output's scale.",
        tolerance=TOLERANCE,
        layers=[
            layer("dense", "Dense", 6.95e-07, "passed"),
            layer("batch_normalization", "BatchNormalization", 3.2e-3, "failed"),
            layer("dropout", "Dropout", 3.2e-3, "failed"),
        ],
        first_divergence="batch_normalization",
    )


def test_running_check_shows_its_stage_and_a_progress_bar(app_and_report):
    client, report = app_and_report
    running = CheckReport(
        status="running",
        progress=CheckProgress(stage="writing", done=2, total=4),
        tolerance=TOLERANCE,
    )
    report_id = with_check(client, report, "running", running)
    html = check_section(client, report_id)
    # Six stages, each a sixth of the bar: four done, and half of "writing": (4 + 2/4) / 6.
    assert '<progress max="100" value="75"' in html
    text = readable(html)
    assert "Running" in text
    assert "Keras hands over each layer's outputs (2 of 4) · 75%" in text
    assert "This is how the check stood when the page loaded. Reload to see how it is going." in (
        text
    )
    steps = [part.split('"')[0] for part in html.split('<li class="')[1:]]
    assert steps == ["done", "done", "done", "done", "current", "todo"]
    full = page(client, f"/reports/{report_id}")
    assert 'data-check-poll="/api/v1/reports/running/check"' in full
    assert 'data-stages="queued loading building predicting writing comparing"' in full
    assert "Manual vs predict Running Keras hands over each layer's outputs" in readable(full)


def test_queued_check_starts_the_bar_at_zero(app_and_report):
    client, report = app_and_report
    queued = CheckReport(status="queued", progress=CheckProgress(stage="queued", done=0, total=1))
    html = check_section(client, with_check(client, report, "queued", queued))
    assert '<progress max="100" value="0"' in html
    assert "Waiting for a Keras worker · 0%" in readable(html)


def test_failed_check_names_the_first_divergent_layer(app_and_report):
    client, report = app_and_report
    html = check_section(client, with_check(client, report, "failed", failed_check()))
    text = readable(html)
    assert "Failed 1 layer differs from Keras by more than 0.0001" in text
    assert (
        "First divergent layer batch_normalization (BatchNormalization): max_rel_error 0.0032, "
        "max_abs_error 0.0064, over the tolerance of 0.0001. The layers before it match"
    ) in text
    anchor = '<a href="#layer-batch_normalization"><code>batch_normalization</code></a>'
    assert anchor in html
    assert "The 3 layers compared, 2 over the tolerance" in text
    assert "dense Dense (2, 512) 1.39e-06 6.95e-07 passed" in text
    assert "dropout Dropout (2, 512) 0.0064 0.0032 failed" in text
    assert "data-check-poll" not in html


def test_failed_check_draws_errors_on_a_log_scale_with_the_tolerance(app_and_report):
    client, report = app_and_report
    html = check_section(client, with_check(client, report, "failed-chart", failed_check()))
    figure = '<figure class="chart error-chart" style="--bars: 3">'
    chart = html.split(figure)[1].split("</figure>")[0]
    # 10⁻⁹ at the bottom (y 100), 1 at the top (y 0): 1e-4 sits 5/9 up, at y 44.444.
    assert 'y1="44.444" y2="44.444"' in chart
    assert "tolerance 0.0001" in readable(chart)
    bars = chart.split("<rect ")[1:]
    assert [bar.split('"')[1] for bar in bars] == ["bar passed", "bar failed first", "bar failed"]
    label = "batch_normalization: max_rel_error 0.0032, failed"
    assert f"<title>{label}</title>" in bars[1]
    # Each bar links to its row of the table below, which shows its values.
    assert f'<a href="#check-row-1" aria-label="{label}">' in chart
    assert '<tr id="check-row-1" class="verdict-failed first">' in html


def test_passed_check_lists_outputs_side_by_side(app_and_report):
    client, report = app_and_report
    values = [[0.25, 0.5, 0.75]]
    passed = CheckReport(
        status="passed",
        message="Every layer matches Keras within 0.0001 of its output's scale.",
        tolerance=TOLERANCE,
        layers=[layer("dense_1", "Dense", 1e-7, "passed")],
        outputs=[
            CheckOutput(
                name="dense_1",
                shape=[1, 3],
                max_abs_error=1e-7,
                reference=values,
                keras=[[0.25, 0.5000001, 0.75]],
            )
        ],
    )
    text = readable(check_section(client, with_check(client, report, "passed", passed)))
    assert "Passed Every layer matches Keras within 0.0001 of its output's scale." in text
    assert "Output dense_1 (1, 3): ours and Keras' side by side (max_abs_error 1.00e-07)" in text
    assert "Index Ours (NumPy) Keras predict [0, 0] 0.25 0.25 [0, 1] 0.5 0.5000001 [0, 2] 0.75" in (
        text
    )


def test_a_layer_passed_on_keras_own_inputs_shows_both_errors(app_and_report):
    client, report = app_and_report
    note = (
        "On Keras' own inputs this layer is within 3.10e-07; the 1.04e-04 it shows end to end "
        "is what its inputs carry."
    )
    carried = layer("se_expand", "Conv2D", 1.04e-4, "passed").model_copy(update={"note": note})
    passed = CheckReport(
        status="passed",
        message="Every layer matches Keras within 0.0001 of its output's scale (1 over it end "
        "to end, within it on Keras' own inputs: float32 rounding carried from the layers "
        "before).",
        tolerance=TOLERANCE,
        layers=[layer("dense", "Dense", 1e-7, "passed"), carried],
        outputs=[
            CheckOutput(
                name="se_expand",
                shape=[1, 2],
                max_abs_error=2.08e-4,
                max_rel_error=1.04e-4,
                note=f"1.04e-04 from Keras' end to end, over the tolerance; its layer "
                f"se_expand: {note}",
                reference=[[0.5, 1.0]],
                keras=[[0.5, 1.0001]],
            )
        ],
    )
    html = check_section(client, with_check(client, report, "carried", passed))
    text = readable(html)
    assert f"1.04e-04 from Keras' end to end, over the tolerance; its layer se_expand: {note}" in (
        text
    )
    assert "The 2 layers compared, 1 over it end to end and within it on Keras' own inputs" in text
    assert "A layer over the tolerance end to end is judged again on Keras' own inputs" in text
    assert f"se_expand Conv2D (2, 512) 2.08e-04 1.04e-04 passed {note}" in text
    assert "First divergent layer" not in text


def test_large_outputs_list_the_first_200_values(app_and_report):
    client, report = app_and_report
    values = [[float(i) for i in range(100 * row, 100 * row + 100)] for row in range(3)]
    check = CheckReport(
        status="passed",
        tolerance=TOLERANCE,
        outputs=[CheckOutput(name="out", shape=[3, 100], reference=values, keras=values)],
    )
    text = readable(check_section(client, with_check(client, report, "big", check)))
    assert "[1, 99] 199 199" in text
    assert "[2, 0]" not in text
    assert "The first 200 of 300 values; the JSON has them all." in text


def test_refused_check_gives_its_code_and_reason(app_and_report):
    client, report = app_and_report
    refused = CheckReport(
        status="refused",
        code="unknown-layers",
        message="The model uses layer classes the explainer does not know (MyLayer).",
    )
    text = readable(check_section(client, with_check(client, report, "refused", refused)))
    assert "Refused The model uses layer classes the explainer does not know (MyLayer)." in text
    assert "Code: unknown-layers" in text


def test_stage_percent_fills_each_stage_in_turn():
    assert stage_percent("queued", 0, 1) == 0
    assert stage_percent("predicting", 1, 1) == 67  # 4 of 6 stages done
    assert stage_percent("comparing", 1, 1) == 100
    assert stage_percent("writing", 0, 0) == 67  # no total yet: the stage's start


def test_real_check_of_the_seed_model_passes_on_the_page(tmp_path, warm_pool):
    with warm_pool.client(tmp_path) as client:
        report_id = upload(client, fresh(seed_model), tmp_path, "seed.keras", wait="true")
        report = client.get(f"/api/v1/reports/{report_id}", headers={"accept": "application/json"})
        html = page(client, f"/reports/{report_id}")
    check = report.json()["check"]
    assert check["status"] == "passed"
    text = readable(section(html, 'id="check"'))
    assert "Passed Every layer matches Keras within 0.0001 of its output's scale." in text
    assert "seeded random (seed 0), batch of 2, shape (2, 4096)" in text
    assert "The 4 layers compared" in text
    first = check["outputs"][0]
    ours, keras = first["reference"][0][0], first["keras"][0][0]
    assert f"[0, 0] {ours:.7g} {keras:.7g} [0, 1]" in text


def test_batchnorm_page_of_a_check_that_ended_in_error_reads_as_sentences(app_and_report):
    client, report = app_and_report
    ended = CheckReport(status="error", message="The Keras worker's answer was not valid.")
    report_id = with_check(client, report, "ended-error", ended)
    text = readable(page(client, f"/reports/{report_id}/batchnorm/batch_normalization"))
    assert (
        "The check gave no values for this layer: its status is Error. "
        "The Keras worker's answer was not valid."
    ) in text
    assert ".," not in text
