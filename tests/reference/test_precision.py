"""Half precision as Keras computes it (app.reference.precision): bfloat16 rounding against
ml_dtypes' (the type Keras itself uses), and by hand at its ties; Keras' input autocast."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from app.reference.precision import autocast, rounded, to_bfloat16

# bfloat16 keeps 7 mantissa bits: between 1 and 2 its step is 2**-7 = 0.0078125.
BY_HAND = [
    (1.0, 1.0),
    (1.00390625, 1.0),  # 1 + 2**-8: halfway between 1 and 1.0078125, to the even one, 1
    (1.01171875, 1.015625),  # 1 + 3 * 2**-8: halfway, to the even one, 1 + 2 * 2**-7
    (1.0048828125, 1.0078125),  # 1 + 2**-8 + 2**-10: past halfway, up
    (-3.0, -3.0),
    (0.1, 0.10009765625),  # 0x3DCCCCCD → 0x3DCD0000
]


@pytest.mark.parametrize(("value", "expected"), BY_HAND)
def test_bfloat16_rounding_by_hand(value, expected):
    assert to_bfloat16(np.array([value], dtype=np.float32))[0] == np.float32(expected)


def test_bfloat16_rounding_is_ml_dtypes_on_every_kind_of_value():
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [
            rng.standard_normal(10_000).astype(np.float32),
            np.array([0.0, -0.0, np.inf, -np.inf, 1e-40, -1e-42, 3.3e38, 3.4e38], np.float32),
            # every exponent, sign and mantissa: NaNs, infinities and subnormals among them
            rng.integers(0, 2**32, 100_000, dtype=np.uint64).astype(np.uint32).view(np.float32),
        ]
    )
    finite = ~np.isnan(values)
    with np.errstate(invalid="ignore"):  # ml_dtypes' cast warns of the NaNs
        expected = values.astype(ml_dtypes.bfloat16).astype(np.float32)
    ours = to_bfloat16(values)
    assert np.array_equal(ours[finite].view(np.uint32), expected[finite].view(np.uint32))
    assert np.isnan(ours[~finite]).all()


def test_rounded_leaves_integers_and_booleans_alone():
    ints, flags = np.array([1, 2, 3], np.int32), np.array([True, False])
    assert rounded(ints, "float16") is ints
    assert rounded(flags, "bfloat16") is flags
    assert rounded(np.array([1.0009765625], np.float32), "float16").dtype == np.float32
    # float16 keeps 10 mantissa bits: 1 + 2**-11 is halfway between 1 and 1 + 2**-10, to 1.
    assert rounded(np.array([1.00048828125], np.float32), "float16")[0] == 1.0


def test_autocast_computes_a_float32_layer_in_float32_from_a_float16_input():
    x16 = np.array([0.1, 0.2], np.float16)
    [cast, labels] = autocast([x16, np.array([1, 2])], "float32")
    assert cast.dtype == np.float32
    assert labels.dtype.kind == "i"
    assert autocast([x16], "float16")[0] is x16
