"""Safe JSON: size, depth, duplicate keys and numbers, in every place a reader parses JSON
(config.json, metadata.json, a legacy file's model_config, specs as text or as objects)."""

from __future__ import annotations

import json
import time
import tracemalloc

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
from app.safety.limits import DEFAULT_LIMITS, ReadLimits
from app.safety.safe_json import STRING, check_parsed, load_json, max_depth, parsed_bytes
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


@pytest.mark.parametrize(
    ("item", "per_item"),
    [("[]", 72 + 40), ('""', 64 + 40), ("0.5", 40), ("{}", 72 + 40)],
)
def test_parsed_bytes_estimates_each_kind_of_value(item, per_item):
    text = "[" + ",".join([item] * 1000) + "]"
    assert parsed_bytes(text) == 72 + 1000 * per_item  # the outer list, then the items


def test_parsed_bytes_is_an_upper_bound_of_what_parsing_takes():
    for item in ("[]", '"ab"', "0.5", "{}", '{"a": [1, 2]}'):
        text = "[" + ",".join([item] * 100_000) + "]"
        tracemalloc.start()
        parsed = json.loads(text)
        taken = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del parsed
        assert taken <= parsed_bytes(STRING.sub('""', text)), item


def test_load_json_refuses_text_that_would_parse_into_too_many_objects_before_parsing():
    """12 MB of `[[]],` parsed into 376 MB of lists in the server; refused from its text."""
    text = "[" + ",".join(["[[]]"] * 2_000_000) + "]"
    tracemalloc.start()
    with pytest.raises(JsonTooLarge) as refused:
        load_json(text, what="The request body")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert refused.value.details["estimate"] > DEFAULT_LIMITS.max_json_objects_bytes
    assert (refused.value.code, refused.value.status) == ("json-too-large", 413)
    assert peak < 2 * len(text)  # the skeleton, never the lists
