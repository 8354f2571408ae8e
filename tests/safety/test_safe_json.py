"""Safe JSON: size, depth, duplicate keys and numbers, in every place a reader parses JSON
(config.json, metadata.json, a legacy file's model_config, specs as text or as objects)."""

from __future__ import annotations

import json
import time

import pytest

from app.errors import (
    DuplicateKeys,
    InvalidNumber,
    InvalidSpec,
    JsonTooDeep,
    JsonTooLarge,
    MalformedModel,
)
from app.formats import read_model, read_spec
from app.safety.limits import ReadLimits
from app.safety.safe_json import check_parsed, load_json, max_depth
from tests.support.hostile import FORMATS, save_base, with_member


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return save_base(tmp_path_factory.mktemp("base"))


def _text(saved, fmt):
    return json.dumps(saved.config(fmt))


@pytest.mark.parametrize("fmt", FORMATS)
def test_read_refuses_duplicate_keys(saved, tmp_path, fmt):
    text = '{"class_name": "Sequential", ' + _text(saved, fmt)[1:]
    with pytest.raises(DuplicateKeys) as info:
        saved.read(fmt, text, tmp_path)
    assert (info.value.code, info.value.status) == ("duplicate-keys", 400)
    assert info.value.details == {"key": "'class_name'"}


def test_read_keras_v3_refuses_duplicate_keys_in_metadata(saved, tmp_path):
    metadata = '{"keras_version": "3.15.1", "keras_version": "2.0.0"}'
    path = with_member(saved.keras_path, tmp_path, "metadata.json", metadata)
    with pytest.raises(DuplicateKeys):
        read_model(path)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "9" * 41])
def test_read_refuses_non_finite_and_huge_numbers(saved, tmp_path, fmt, number):
    text = _text(saved, fmt).replace('"trainable": true', f'"trainable": {number}', 1)
    assert number in text
    with pytest.raises(InvalidNumber) as info:
        saved.read(fmt, text, tmp_path)
    assert (info.value.code, info.value.status) == ("invalid-number", 400)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("depth", [101, 100_000])
def test_read_refuses_deep_nesting_before_parsing(saved, tmp_path, fmt, depth):
    config = saved.config(fmt)
    config["config"]["extra"] = "@"
    text = json.dumps(config).replace('"@"', "[" * depth + "]" * depth)
    with pytest.raises(JsonTooDeep) as info:
        saved.read(fmt, text, tmp_path)
    assert (info.value.code, info.value.status) == ("json-too-deep", 400)
    assert info.value.__cause__ is None  # refused before json.loads ever ran: no RecursionError


@pytest.mark.parametrize("fmt", FORMATS)
def test_read_accepts_nesting_up_to_the_cap(saved, tmp_path, fmt):
    config = saved.config(fmt)
    depth = max_depth(json.dumps(config))
    config["config"]["extra"] = "@"
    text = json.dumps(config).replace('"@"', "[" * (100 - 2) + "]" * (100 - 2))
    assert max_depth(text) == 100 > depth
    with saved.read(fmt, text, tmp_path) as loaded:
        assert loaded.refusals == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_read_refuses_config_over_the_size_cap(saved, tmp_path, fmt):
    text = _text(saved, fmt)
    limits = ReadLimits(max_json_bytes=len(text) - 1)
    with pytest.raises(JsonTooLarge) as info:
        saved.read(fmt, text, tmp_path, limits)
    assert (info.value.code, info.value.status) == ("json-too-large", 413)


def test_read_spec_file_over_the_size_cap_is_refused_before_reading(tmp_path):
    path = tmp_path / "spec.json"
    with path.open("wb") as fh:  # 1 GiB, sparse: nothing is written, nor read
        fh.write(b"{")
        fh.seek(1 << 30)
        fh.write(b"}")
    started = time.perf_counter()
    with pytest.raises(JsonTooLarge):
        read_model(path)
    assert time.perf_counter() - started < 1.0


def test_read_spec_object_deeply_nested_is_refused_without_recursion():
    spec = {"class_name": "Sequential", "config": {"name": "s", "layers": []}}
    inner = spec["config"]
    for _ in range(100_000):  # far past the interpreter's recursion limit
        inner["x"] = {}
        inner = inner["x"]
    with pytest.raises(JsonTooDeep):
        read_spec(spec)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 10**50])
def test_read_spec_object_refuses_bad_numbers(value):
    spec = {"class_name": "Sequential", "config": {"name": "s", "layers": [], "x": [value]}}
    with pytest.raises(InvalidNumber):
        read_spec(spec)


def test_read_spec_object_refuses_non_string_keys():
    with pytest.raises(InvalidSpec, match="not a string"):
        read_spec({"class_name": "Sequential", "config": {1: 2}})


def test_check_parsed_counts_values():
    limits = ReadLimits(max_json_values=50)
    with pytest.raises(JsonTooLarge):
        check_parsed({"a": list(range(100))}, what="The spec", limits=limits)
    check_parsed({"a": list(range(40))}, what="The spec", limits=limits)


def test_load_json_keeps_the_callers_error_class_for_syntax():
    expected = r"config\.json is not valid JSON \(line 1, column 2\)"
    with pytest.raises(MalformedModel, match=expected):
        load_json("{oops", what="The .keras archive's config.json", syntax_error=MalformedModel)
    with pytest.raises(InvalidSpec, match="not UTF-8"):
        load_json(b"\xff\xfe{}", what="The spec")


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ("[]", 1),
        ('{"a": [[1], {"b": []}]}', 4),
        ('{"a": "[[[[{{{{"}', 1),
        ('["\\"]]]", [[]]]', 3),
        ('"\\\\"', 0),
    ],
)
def test_max_depth_ignores_brackets_inside_strings(text, depth):
    assert max_depth(text) == depth
    assert max_depth(text) == _recursive_depth(json.loads(text))


def _recursive_depth(value):
    if isinstance(value, dict):
        return 1 + max((_recursive_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_recursive_depth(v) for v in value), default=0)
    return 0


def test_load_json_is_linear_on_a_large_config():
    config = {"layers": [{"name": f"dense_{i}", "units": i, "rate": 0.5} for i in range(60_000)]}
    text = json.dumps(config)
    assert len(text) > 3_000_000
    started = time.perf_counter()
    assert load_json(text, what="The spec") == config
    assert time.perf_counter() - started < 3.0
