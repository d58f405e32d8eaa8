"""The stand-in itself: it says what it is, refuses what TF Serving refuses with TF Serving's words and
HTTP status, and answers in the shape the signature declares.

The expected messages are TF Serving's, from tensorflow/serving (commit 9d981c5c): json_tensor.cc
unless the case names another file. The requests go through `urllib` directly, not the client,
so a test sees the stand-in's exact HTTP status and body.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import numpy as np
import pytest

from client.predict import BGR_MEANS
from tests.client import standin as standin_module
from tests.client import standin_json
from tests.client.standin import COLOR_CLASSES, StandIn, TensorInfo, scores_for
from tests.client.standin_json import debug_string

PREDICT = "/v1/models/resnet50_neuron:predict"
IMAGE = np.zeros((224, 224, 3)).tolist()


def call(standin: StandIn, path: str, body: bytes | Any = None, method: str | None = None) -> tuple[int, Any]:
    """(HTTP status, decoded JSON or raw bytes) of one request to the stand-in."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(standin.url + path, data=data, method=method or ("GET" if data is None else "POST"))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw, content_type = response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as exc:
        with exc:
            status, raw, content_type = exc.code, exc.read(), exc.headers["Content-Type"]
    return status, json.loads(raw) if content_type == "application/json" else raw


def test_docstrings_say_it_is_not_tf_serving() -> None:
    for module in (standin_module, standin_json):
        doc = module.__doc__ or ""
        assert "NOT TensorFlow Serving" in doc
    assert "stand-in for TensorFlow Serving's REST API" in (standin_module.__doc__ or "")


@pytest.mark.parametrize(("bgr", "color"), [((0, 0, 255), "red"), ((0, 255, 0), "green"), ((255, 0, 0), "blue")])
def test_scores_follow_the_dominant_colour(bgr: tuple[int, int, int], color: str) -> None:
    image = np.broadcast_to(np.subtract(bgr, BGR_MEANS), (224, 224, 3))

    scores = scores_for(image)

    assert scores.shape == (1000,)
    assert scores.sum() == pytest.approx(1.0)
    assert int(np.argmax(scores)) == COLOR_CLASSES[color]
    np.testing.assert_array_equal(scores, scores_for(image.copy()))


# Refusals, each with TF Serving's words and HTTP status.

@pytest.mark.parametrize(("body", "error"), [
    # Malformed JSON (ParseJson).
    (b"", "JSON Parse error: The document is empty"),
    (b'{"instances": [1,', "JSON Parse error: Invalid value. at offset: 17"),
    (b'{"instances" [1]}', "JSON Parse error: Missing a colon after a name of object member. at offset: 13"),
    (b"[1, 2]", "JSON Value: [1, 2] Is not object"),
    ({"signature_name": 1, "instances": [1]},
     'JSON Value: {\n    "signature_name": 1,\n    "instances": [1]\n} not formatted correctly. '
     "'signature_name' key must be a string value."),
    # Neither, both, or the wrong kind of `instances` / `inputs` (FillPredictRequestFromJson).
    ({"signature_name": "serving_default"}, "Missing 'inputs' or 'instances' key"),
    ({"instances": [1], "inputs": [1]}, 'JSON Value: {\n    "instances": [1],\n    "inputs": [1]\n} '
     "Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist "),
    ({"instances": "cat.jpg"}, "JSON Value: {\n    \"instances\": \"cat.jpg\"\n} Expecting 'instances' to be an list/array"),
    ({"instances": []}, "JSON Value: {\n    \"instances\": []\n} No values in 'instances' array"),
    # Named inputs that are not the signature's (FillTensorMapFromInstancesList, AddInstanceItem, FillTensorMapFromInputsMap).
    ({"instances": [{"image": IMAGE}]},
     "Failed to process element: 0 key: image of 'instances' list. Error: INVALID_ARGUMENT: "
     "JSON object: does not have named input: image"),
    ({"inputs": {"image": [IMAGE]}}, "Missing named input: input_1 in 'inputs' object."),
    ({"instances": [{"input_1": IMAGE}, IMAGE]}, "Expecting object but got list at item 1 of input list"),
    ({"instances": [IMAGE, {"input_1": IMAGE}]}, "Expecting value/list but got object at item 1 of input list"),
    # Values of the wrong dtype for DT_FLOAT (AddValueToTensor, TypeError).
    ({"instances": [[[["0"] * 3] * 224] * 224]},
     'Failed to process element: 0 of \'instances\' list. Error: INVALID_ARGUMENT: JSON Value: "0" Type: String '
     "is not of expected type: float"),
    ({"inputs": [[[[None, 0.0, 0.0]]]]}, "JSON Value: null Type: Null is not of expected type: float"),
    ({"inputs": [[[[True]]]]}, "JSON Value: true Type: True is not of expected type: float"),
    # Ragged tensors (FillTensorProto) and instances of different shapes (AddInstanceItem).
    ({"inputs": [[[1.0, 2.0], [3.0]]]}, "Encountered list at unexpected size: 1 at level: 2 expected size: 2"),
    ({"inputs": [[[1.0, [2.0]]]]}, "Encountered list at unexpected level: 3 expected < 3"),
    ({"inputs": [[1.0, 2.0], 3.0]}, "JSON Value: 3.0 found at incorrect level: 2 in the JSON DOM. Expected at level: 2"),
    ({"instances": [[1.0, 2.0], [1.0, 2.0, 3.0]]},
     "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: Expecting tensor size: 2 but got: 3"),
    ({"instances": [[[1.0, 2.0]], [[1.0], [2.0]]]},
     "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: Expecting shape [1,2] but got: [2,1]"),
    # An unknown signature (http_rest_api_handler.cc, GetInfoMap).
    ({"signature_name": "predict_images", "instances": [IMAGE]}, 'Serving signature name: "predict_images" not found in signature def'),
])
def test_predict_refuses_what_tf_serving_refuses_with_400(standin: StandIn, body: bytes | dict[str, Any], error: str) -> None:
    status, answer = call(standin, PREDICT, body)

    assert status == 400
    assert list(answer) == ["error"]
    assert answer["error"] == error
    assert standin.predictions == []


def test_a_long_json_value_is_quoted_up_to_256_bytes(standin: StandIn) -> None:
    status, answer = call(standin, PREDICT, {"instances": {"input_1": [IMAGE]}})

    assert status == 400
    quoted, _, rest = answer["error"].removeprefix("JSON Value: ").partition(" Expecting")
    assert quoted.startswith('{\n    "instances": {\n        "input_1": [[[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]')
    assert 256 <= len(quoted) < 256 + len(", [0.0")
    assert rest == " 'instances' to be an list/array"


def test_a_tensor_of_the_wrong_shape_is_400_in_the_models_words_which_are_the_standins(standin: StandIn) -> None:
    status, answer = call(standin, PREDICT, {"instances": [[[1.0, 2.0, 3.0]]]})

    assert status == 400
    assert answer["error"].startswith("stand-in model: input input_1 has shape [1,1,3], the signature declares [-1,224,224,3]")


def test_a_dtype_json_cannot_carry_is_501_unimplemented() -> None:
    with StandIn(inputs={"x": TensorInfo("DT_HALF", (-1, 2))}) as server:
        status, answer = call(server, PREDICT, {"inputs": {"x": [[0.0, 0.0]]}})

    assert (status, answer) == (501, {"error": "Conversion of JSON Value: 0.0 to type: half"})


def test_several_inputs_need_named_instances() -> None:
    inputs = {"a": TensorInfo("DT_INT32", (-1, 2)), "b": TensorInfo("DT_INT32", (-1,))}
    with StandIn(inputs=inputs) as server:
        plain = call(server, PREDICT, {"instances": [[1, 2]]})
        missing = call(server, PREDICT, {"instances": [{"a": [1, 2]}]})
        floats = call(server, PREDICT, {"inputs": {"a": [[1, 2]], "b": [0.5]}})
        ok = call(server, PREDICT, {"instances": [{"a": [1, 2], "b": 3}]})

    assert plain == (400, {"error": "instances is a plain list, but expecting list of objects as multiple input tensors "
                                    "required as per tensorinfo_map"})
    assert missing == (400, {"error": "Failed to process element: 0 of 'instances' list. JSON object: "
                                      '{\n    "a": [1, 2]\n} keys must be equal to: a,b'})
    assert floats == (400, {"error": "JSON Value: 0.5 Type: Number is not of expected type: int32"})
    assert ok[0] == 200


@pytest.mark.parametrize(("method", "path", "status", "error"), [
    # get_model_status_impl.cc
    ("GET", "/v1/models/resnet50", 404, "Could not find any versions of model resnet50"),
    ("GET", "/v1/models/resnet50_neuron/versions/2", 404, "Could not find version 2 of model resnet50_neuron"),
    # basic_manager.cc (GetUntypedServableHandle) with manager.h's ServableRequest::DebugString
    ("GET", "/v1/models/resnet50/metadata", 404, "Servable not found for request: Latest(resnet50)"),
    ("POST", "/v1/models/resnet50:predict", 404, "Servable not found for request: Latest(resnet50)"),
    ("POST", "/v1/models/resnet50_neuron/versions/2:predict", 404, "Servable not found for request: Specific(resnet50_neuron, 2)"),
    # http_rest_api_handler.cc (ProcessRequest, ProcessModelStatusRequest)
    ("GET", "/v1/models", 400, "Missing model name in request."),
    ("POST", "/v1/models/resnet50_neuron", 400, "Malformed request: POST /v1/models/resnet50_neuron"),
    ("GET", "/v1/models/resnet50_neuron:predict", 400, "Malformed request: GET /v1/models/resnet50_neuron:predict"),
    ("PUT", "/v1/models/resnet50_neuron:predict", 400, "Malformed request: PUT /v1/models/resnet50_neuron:predict"),
    # server_core.cc (GetModelVersionForLabel)
    ("POST", "/v1/models/resnet50_neuron/labels/stable:predict", 400, "Unrecognized servable version label: stable"),
])
def test_paths_models_and_versions(standin: StandIn, method: str, path: str, status: int, error: str) -> None:
    assert call(standin, path, {"instances": [IMAGE]} if method != "GET" else None, method) == (status, {"error": error})


def test_a_model_that_is_not_available_has_no_servable(standin: StandIn) -> None:
    standin.state = "LOADING"

    assert call(standin, "/v1/models/resnet50_neuron/metadata") == (
        404, {"error": "Servable not found for request: Latest(resnet50_neuron)"})
    assert call(standin, PREDICT, {"instances": [IMAGE]})[0] == 404


def test_malformed_json_is_refused_before_the_model_is_looked_up(standin: StandIn) -> None:
    # http_rest_api_handler.cc: ProcessPredictRequest parses the body (FillPredictRequestFromJson) first.
    assert call(standin, "/v1/models/unknown:predict", b"{") == (
        400, {"error": "JSON Parse error: Missing a name for object member. at offset: 1"})


def test_a_path_outside_v1_gets_libevents_404_page(standin: StandIn) -> None:
    status, body = call(standin, "/v2/models/resnet50_neuron")

    assert status == 404
    assert body == b"<HTML><HEAD>\n<TITLE>404 Not Found</TITLE>\n</HEAD><BODY>\n<H1>Not Found</H1>\n</BODY></HTML>\n"


def test_classify_on_a_predict_signature_is_refused(standin: StandIn) -> None:
    no_examples = call(standin, "/v1/models/resnet50_neuron:classify", {"instances": [1]})
    with_examples = call(standin, "/v1/models/resnet50_neuron:classify", {"examples": [{"x": 1}]})

    assert no_examples == (400, {"error": 'JSON Value: {\n    "instances": [1]\n} When method is classify, '
                                          "key 'examples' is expected and was not found"})
    assert with_examples[0] == 400
    assert with_examples[1]["error"].startswith("No classification inputs found in SignatureDef: ")


# Answers: the shape and naming the signature declares.

def test_row_request_is_answered_with_one_prediction_row_per_instance(standin: StandIn) -> None:
    status, answer = call(standin, PREDICT, {"instances": [IMAGE, IMAGE]})

    assert status == 200
    assert list(answer) == ["predictions"]
    assert np.array(answer["predictions"]).shape == (2, 1000)
    [received] = standin.predictions
    assert (received.path, received.form, list(received.tensors)) == (PREDICT, "row", ["input_1"])
    assert (received.tensors["input_1"].shape, received.tensors["input_1"].dtype) == ((2, 224, 224, 3), np.float32)


def test_columnar_request_is_answered_with_outputs(standin: StandIn) -> None:
    status, answer = call(standin, PREDICT, {"inputs": {"input_1": [IMAGE], "ignored": 1}})

    assert status == 200
    assert list(answer) == ["outputs"]
    assert np.array(answer["outputs"]).shape == (1, 1000)
    assert list(standin.predictions[0].tensors) == ["input_1"]  # FillTensorMapFromInputsMap reads only the signature's names


def test_several_outputs_are_named() -> None:
    with StandIn(outputs=("probabilities", "logits")) as server:
        _, rows = call(server, PREDICT, {"instances": [IMAGE]})
        _, columns = call(server, PREDICT, {"inputs": [IMAGE]})
        _, metadata = call(server, "/v1/models/resnet50_neuron/metadata")

    assert [sorted(row) for row in rows["predictions"]] == [["logits", "probabilities"]]
    assert sorted(columns["outputs"]) == ["logits", "probabilities"]
    assert np.array(columns["outputs"]["logits"]).shape == (1, 1000)
    outputs = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]["outputs"]
    assert {name: [d["size"] for d in o["tensor_shape"]["dim"]] for name, o in outputs.items()} == {
        "probabilities": ["-1", "1000"], "logits": ["-1", "1000"]}


def test_metadata_describes_the_signature(standin: StandIn) -> None:
    status, metadata = call(standin, "/v1/models/resnet50_neuron/metadata")

    inputs = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]
    assert status == 200
    assert list(inputs) == ["input_1"]
    assert inputs["input_1"]["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in inputs["input_1"]["tensor_shape"]["dim"]] == ["-1", "224", "224", "3"]


# JsonValueToDebugString, the JSON TF Serving quotes in its messages.

@pytest.mark.parametrize(("value", "text"), [
    ({"a": [1, 2.5], "b": {}, "c": None}, '{\n    "a": [1, 2.5],\n    "b": {},\n    "c": null\n}'),
    ({"a": {"b": "x\ny"}}, '{\n    "a": {\n        "b": "x\\ny"\n    }\n}'),
    ([0.0, -0.5, 1e20, 1e21, 1.5e22, 0.000001, 1e-7, 123456789.0],
     "[0.0, -0.5, 100000000000000000000.0, 1e21, 1.5e22, 0.000001, 1e-7, 123456789.0]"),
    ([float("nan"), 1], "["),  # rapidjson's default writer refuses NaN, which ends the string
])
def test_debug_string_writes_json_as_rapidjsons_pretty_writer(value: Any, text: str) -> None:
    assert debug_string(value) == text


def test_debug_string_stops_after_256_bytes() -> None:
    text = debug_string([123.0] * 1000)

    assert 256 <= len(text) < 256 + len(", 123.0")
    assert text.startswith("[123.0, 123.0")
