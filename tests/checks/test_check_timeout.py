"""The check's timeout follows the model's forward (app.check.admission.check_timeout): its
MACs at the check's batch over KEX_CHECK_MACS_PER_S, never less than KEX_CHECK_TIMEOUT_S."""

from __future__ import annotations

import pytest

from app.check.admission import CheckSettings, check_timeout
from app.explain import explain_spec
from tests.support.kerasref import keras

SETTINGS = CheckSettings(timeout_s=300.0, macs_per_s=1e8)


def test_a_large_model_gets_its_forward_at_the_floor_rate():
    # EfficientNetB7 at 600 × 600: 37,745,884,192 MACs a sample (its report's totals.macs);
    # at the seeded batch 2, 75,491,768,384 MACs at 1e8 a second.
    assert check_timeout(SETTINGS, 37_745_884_192, batch=2) == pytest.approx(754.91768384)


def test_a_small_model_gets_the_floor():
    # ResNet50 at 224: 3,857,973,248 MACs a sample, 77.2 s at batch 2: under 300 s.
    assert check_timeout(SETTINGS, 3_857_973_248, batch=2) == 300.0
    assert check_timeout(SETTINGS, 0, batch=2) == 300.0  # MACs not counted


def test_the_caller_batch_scales_the_time():
    # 37,745,884,192 × 8 / 1e8 = 3,019.67 s.
    assert check_timeout(SETTINGS, 37_745_884_192, batch=8) == pytest.approx(3019.67073536)


def test_the_model_read_carries_the_reports_macs():
    """Input(4) → Dense(3) → Dense(2): 4 × 3 + 3 × 2 = 18 multiply-accumulates a sample."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(2)])
    explanation = explain_spec(model.to_json())
    assert explanation.read.macs == 18
    assert explanation.report.totals.macs == 18
