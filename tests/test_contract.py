import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeaction.contract import ModelContract, contract_from_onnx
from edgeaction.errors import EdgeActionError


def test_json_round_trip_and_defaults(tmp_path):
    c = ModelContract(
        name="m",
        labels=["walk", "run"],
        frames=16,
        height=112,
        width=112,
        producer={"tf2onnx": "1.17.0"},
    )
    assert c.stride == 8 and c.subsample == 1 and c.labels == ("walk", "run")
    back = ModelContract.from_json(c.to_json())
    assert back == c and back.producer == {"tf2onnx": "1.17.0"}
    p = c.save(tmp_path)
    assert p.name == "contract.json" and ModelContract.load(tmp_path) == c
    assert c.input_shape(2) == (2, 16, 112, 112, 3)
    assert ModelContract(
        name="m", labels=["a", "b"], frames=8, height=4, width=6, layout="NCTHW"
    ).input_shape() == (None, 3, 8, 4, 6)


def test_check_input_names_the_mismatch():
    c = ModelContract(name="m", labels=["a", "b"], frames=16, height=112, width=112)
    c.check_input("frames", [None, 16, 112, 112, 3])
    c.check_input("frames", ["N", 16, 112, 112, 3])
    with pytest.raises(EdgeActionError, match="contract wants 16 frames, model input has 8"):
        c.check_input("frames", [1, 8, 112, 112, 3])
    with pytest.raises(EdgeActionError, match="contract wants input 'frames'"):
        c.check_input("clip", [1, 16, 112, 112, 3])
    with pytest.raises(EdgeActionError, match="2 labels, model output has 5"):
        c.check_output(5)


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"labels": ["a"]}, "at least 2"),
        ({"labels": ["a", "a"]}, "unique"),
        ({"frames": 0}, "frames must be"),
        ({"layout": "NHWC"}, "layout must be"),
        ({"std": [1, 0, 1]}, "std must be positive"),
        ({"colour": "RGBA"}, "colour must be"),
        ({"short_clips": "wrap"}, "short_clips must be one of stretch, loop, pad"),
    ],
)
def test_invalid_values_are_one_line_errors(bad, match):
    d = {"name": "m", "labels": ["a", "b"], "frames": 8, "height": 8, "width": 8, **bad}
    with pytest.raises(EdgeActionError, match=match):
        ModelContract.from_dict(d)


def test_short_clips_new_contracts_stretch_older_ones_read_loop():
    c = ModelContract(name="m", labels=["a", "b"], frames=8, height=8, width=8)
    assert c.short_clips == "stretch" and c.to_dict()["short_clips"] == "stretch"
    assert ModelContract.from_json(c.to_json()) == c
    assert ModelContract.from_dict({**c.to_dict(), "short_clips": "pad"}).short_clips == "pad"
    # a contract written before the key existed was trained looping its short clips
    old = {k: v for k, v in c.to_dict().items() if k != "short_clips"}
    assert ModelContract.from_dict(old).short_clips == "loop"


def test_unknown_schema_and_keys_are_refused():
    d = ModelContract(name="m", labels=["a", "b"], frames=8, height=8, width=8).to_dict()
    with pytest.raises(EdgeActionError, match="schema"):
        ModelContract.from_dict({**d, "schema": 99})
    with pytest.raises(EdgeActionError, match="unknown keys"):
        ModelContract.from_dict({**d, "colour_space": "yuv"})


def test_onnx_contract_embedded_or_beside(tmp_path, tiny_contract):
    from tests.conftest import make_onnx

    p = make_onnx(tmp_path / "a.onnx", tiny_contract)
    assert contract_from_onnx(p) == tiny_contract
    (tmp_path / "b").mkdir()
    q = make_onnx(tmp_path / "b" / "b.onnx", tiny_contract, embed=False)
    with pytest.raises(EdgeActionError, match="carries no edgeaction contract"):
        contract_from_onnx(q)
    tiny_contract.save(q.parent)
    assert contract_from_onnx(q) == tiny_contract


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=12,
)
fields = st.sampled_from(
    [
        "name",
        "labels",
        "frames",
        "height",
        "width",
        "layout",
        "dtype",
        "mean",
        "std",
        "scale",
        "stride",
        "subsample",
        "producer",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(fields, json_values, max_size=13))
def test_arbitrary_dicts_raise_only_user_errors(d):
    try:
        ModelContract.from_dict(d)
    except EdgeActionError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_raise_only_user_errors(raw):
    try:
        ModelContract.from_json(raw)
    except EdgeActionError:
        pass


def test_valid_contract_survives_json_with_extra_whitespace():
    c = ModelContract(name="m", labels=["a", "b"], frames=8, height=8, width=8)
    assert ModelContract.from_json("\n  " + json.dumps(c.to_dict()) + "  \n") == c
