"""TensorFlow Serving's JSON request parsing, redone in Python for the stand-in (tests/client/standin.py).

This is NOT TensorFlow Serving. It follows `tensorflow_serving/util/json_tensor.cc` (FillPredictRequestFromJson
and the functions it calls) closely enough that a request TF Serving refuses is refused here with TF Serving's
words: every message below is copied from that file, and each `# json_tensor.cc:` comment names the function
it comes from. Read from tensorflow/serving at commit 9d981c5c2708d23c5407c7c1e30309e6f9798874.

What it does not redo: rapidjson's parse-error offsets (Python's json reports its own positions), and the
shape check TF Serving leaves to the model (see `standin.py`).
"""

from __future__ import annotations

import base64
import binascii
import decimal
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np


class InvalidArgumentError(Exception):
    """absl::StatusCode::kInvalidArgument: TF Serving answers it with HTTP 400 (http_server.cc, ToHTTPStatusCode)."""

    http_status = 400
    code_name = "INVALID_ARGUMENT"

    def __str__(self) -> str:
        return str(self.args[0])

    def to_string(self) -> str:
        """absl::Status::ToString(): what TF Serving puts in a message that wraps another error."""
        return f"{self.code_name}: {self}"


class UnimplementedError(InvalidArgumentError):
    """absl::StatusCode::kUnimplemented: HTTP 501 (http_server.cc, ToHTTPStatusCode)."""

    http_status = 501
    code_name = "UNIMPLEMENTED"


DATA_TYPE_NAMES = {
    "DT_FLOAT": "float", "DT_DOUBLE": "double", "DT_INT32": "int32", "DT_UINT32": "uint32", "DT_UINT8": "uint8",
    "DT_UINT16": "uint16", "DT_INT16": "int16", "DT_INT8": "int8", "DT_STRING": "string", "DT_INT64": "int64",
    "DT_UINT64": "uint64", "DT_BOOL": "bool", "DT_BFLOAT16": "bfloat16", "DT_HALF": "half",
}
"""tensorflow/core/framework/types.cc, DataTypeStringInternal: the dtype names TF Serving's messages use."""

NUMPY_DTYPES = {
    "DT_FLOAT": np.float32, "DT_DOUBLE": np.float64, "DT_INT32": np.int32, "DT_INT16": np.int16, "DT_INT8": np.int8,
    "DT_UINT8": np.uint8, "DT_INT64": np.int64, "DT_UINT32": np.uint32, "DT_UINT64": np.uint64, "DT_BOOL": np.bool_,
    "DT_STRING": np.object_,
}
"""The dtypes json_tensor.cc's AddValueToTensor converts JSON to; any other is UNIMPLEMENTED (HTTP 501)."""

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


# JsonValueToDebugString: how TF Serving quotes a JSON value in an error message.

_MAX_DEBUG_STRING_BYTES = 256  # json_tensor.cc: kMaxJsonDebugStringBytes


def _rapidjson_double(value: float) -> str | None:
    """rapidjson's Writer::Double (include/rapidjson/internal/dtoa.h, Prettify) for a finite double; None for NaN/Inf,
    which the default writer refuses (so the debug string stops there)."""
    if not math.isfinite(value):
        return None
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign, digit_tuple, exponent = decimal.Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    exponent += len(digit_tuple) - len(digits)
    length, kk = len(digits), len(digits) + exponent  # kk: position of the decimal point
    if exponent >= 0 and kk <= 21:
        text = digits + "0" * exponent + ".0"
    elif 0 < kk <= 21:
        text = digits[:kk] + "." + digits[kk:]
    elif -6 < kk <= 0:
        text = "0." + "0" * -kk + digits
    elif length == 1:
        text = f"{digits}e{kk - 1}"
    else:
        text = f"{digits[0]}.{digits[1:]}e{kk - 1}"
    return ("-" if sign else "") + text


def _rapidjson_string(value: str) -> str:
    """rapidjson's Writer::String: quotes, backslash, control characters escaped; UTF-8 kept as is."""
    short = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return '"' + "".join(short.get(c, f"\\u{ord(c):04X}" if ord(c) < 0x20 else c) for c in value) + '"'


def _writer_calls(value: Any, prefix: str, depth: int) -> Iterator[str | None]:
    """The text of each rapidjson PrettyWriter call (kFormatSingleLineArray, indent 4) for `value`,
    each with the separator the writer puts before it; None where the writer refuses a value."""
    if isinstance(value, dict):
        yield prefix + "{"
        for index, (key, item) in enumerate(value.items()):
            yield ("\n" if index == 0 else ",\n") + " " * 4 * (depth + 1) + _rapidjson_string(str(key))
            yield from _writer_calls(item, ": ", depth + 1)
        yield ("\n" + " " * 4 * depth if value else "") + "}"
    elif isinstance(value, list):
        yield prefix + "["
        for index, item in enumerate(value):
            yield from _writer_calls(item, ", " if index else "", depth + 1)
        yield "]"
    elif value is None or isinstance(value, bool):
        yield prefix + json.dumps(value)
    elif isinstance(value, int):
        yield prefix + str(value)
    elif isinstance(value, float):
        number = _rapidjson_double(value)
        yield None if number is None else prefix + number
    else:
        yield prefix + _rapidjson_string(str(value))


def debug_string(value: Any) -> str:
    """json_tensor.cc: JsonValueToDebugString. The writer stops at the first call made once 256 bytes are written."""
    written = b""
    for call in _writer_calls(value, "", 0):
        if call is None or len(written) >= _MAX_DEBUG_STRING_BYTES:
            break
        written += call.encode()
    return written.decode(errors="replace")


def format_error(value: Any, *parts: object) -> InvalidArgumentError:
    """json_tensor.cc: FormatError."""
    return InvalidArgumentError("JSON Value: " + debug_string(value) + " " + "".join(map(str, parts)))


# ParseJson and the tensor filling.

def parse_json(raw: bytes) -> dict[str, Any]:
    """json_tensor.cc: ParseJson. Like rapidjson with kParseStopWhenDoneFlag, what follows the first value is ignored."""
    if not raw:
        raise InvalidArgumentError("JSON Parse error: The document is empty")  # json_tensor.cc: ParseJson
    text = raw.decode("utf-8", errors="replace")
    start = len(text) - len(text.lstrip(" \t\n\r"))
    try:
        doc, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as exc:
        # json_tensor.cc: ParseJson ("JSON Parse error: ", GetParseError_En(...), " at offset: ", offset);
        # rapidjson's wording and offset are approximated by Python's.
        raise InvalidArgumentError(f"JSON Parse error: {_rapidjson_parse_error(exc.msg)} at offset: {exc.pos}") from None
    if not isinstance(doc, dict):
        raise format_error(doc, "Is not object")  # json_tensor.cc: ParseJson
    return doc


def _rapidjson_parse_error(python_message: str) -> str:
    """The closest of rapidjson's error/en.h messages to Python's."""
    if python_message.startswith("Expecting property name"):
        return "Missing a name for object member."
    if python_message.startswith("Expecting ':'"):
        return "Missing a colon after a name of object member."
    if python_message.startswith("Expecting ','"):
        return "Missing a comma or ']' after an array element."
    if python_message.startswith("Unterminated string"):
        return "Missing a closing quotation mark in string."
    return "Invalid value."


def signature_name(doc: dict[str, Any]) -> str:
    """json_tensor.cc: FillSignature ("" when absent: the default signature)."""
    name = doc.get("signature_name", "")
    if not isinstance(name, str):
        # json_tensor.cc: FormatSignatureError
        raise InvalidArgumentError("JSON Value: " + debug_string(doc)
                                   + " not formatted correctly. 'signature_name' key must be a string value.")
    return name


@dataclass(frozen=True)
class TensorInfo:
    """One input or output of a signature, as the metadata API describes it."""

    dtype: str
    shape: tuple[int, ...]
    """-1 for a size the model accepts any of (the batch)."""


def _dense_shape(value: Any) -> list[int]:
    """json_tensor.cc: GetDenseTensorShape (the shape read down the first elements)."""
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return shape


def _is_base64_object(value: Any) -> bool:
    """json_tensor.cc: IsValBase64Object."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _type_error(value: Any, dtype: str) -> InvalidArgumentError:
    """json_tensor.cc: TypeError."""
    if isinstance(value, dict | list | str):
        json_type = "Object" if isinstance(value, dict) else "Array" if isinstance(value, list) else "String"
    else:
        json_type = "Null" if value is None else "True" if value is True else "False" if value is False else "Number"
    return InvalidArgumentError(f"JSON Value: {debug_string(value)} Type: {json_type} "
                                f"is not of expected type: {DATA_TYPE_NAMES.get(dtype, dtype)}")


def _add_value(value: Any, dtype: str) -> Any:
    """json_tensor.cc: AddValueToTensor (rapidjson's IsNumber/IsInt/IsInt64/IsUint/IsUint64/IsString/IsBool)."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    accepted = {
        "DT_FLOAT": is_int or isinstance(value, float), "DT_DOUBLE": is_int or isinstance(value, float),
        "DT_INT32": is_int and _INT32[0] <= value <= _INT32[1], "DT_INT16": is_int and _INT32[0] <= value <= _INT32[1],
        "DT_INT8": is_int and _INT32[0] <= value <= _INT32[1], "DT_UINT8": is_int and _INT32[0] <= value <= _INT32[1],
        "DT_INT64": is_int and _INT64[0] <= value <= _INT64[1], "DT_UINT32": is_int and 0 <= value < 2**32,
        "DT_UINT64": is_int and 0 <= value < 2**64, "DT_STRING": isinstance(value, str), "DT_BOOL": isinstance(value, bool),
    }
    if dtype not in accepted:
        raise UnimplementedError(f"Conversion of JSON Value: {debug_string(value)} "
                                 f"to type: {DATA_TYPE_NAMES.get(dtype, dtype)}")
    if not accepted[dtype]:
        raise _type_error(value, dtype)
    return value


def _fill_tensor(value: Any, level: int, shape: list[int], dtype: str, values: list[Any]) -> None:
    """json_tensor.cc: FillTensorProto: every leaf at the same depth, every list of its level's size."""
    rank = len(shape)
    if not isinstance(value, list):
        if level != rank:
            raise InvalidArgumentError(f"JSON Value: {debug_string(value)} found at incorrect level: {level + 1} "
                                       f"in the JSON DOM. Expected at level: {rank}")
        if isinstance(value, dict):
            if dtype != "DT_STRING":
                raise _type_error(value, dtype)
            values.append(_decode_base64(value))
        else:
            values.append(_add_value(value, dtype))
        return
    if level >= rank:
        raise InvalidArgumentError(f"Encountered list at unexpected level: {level} expected < {rank}")
    if len(value) != shape[level]:
        raise InvalidArgumentError(f"Encountered list at unexpected size: {len(value)} at level: {level} "
                                   f"expected size: {shape[level]}")
    if level + 1 == rank and dtype in ("DT_FLOAT", "DT_DOUBLE") and all(type(v) is float for v in value):
        values.extend(value)  # the common case, checked at once: a row of JSON doubles
        return
    for item in value:
        _fill_tensor(item, level + 1, shape, dtype, values)


def _decode_base64(value: Any) -> bytes:
    """json_tensor.cc: JsonDecodeBase64Object."""
    if not _is_base64_object(value):
        raise InvalidArgumentError(f"JSON Value: {debug_string(value)} not formatted correctly for base64 data")
    try:
        return base64.b64decode(value["b64"], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgumentError("Unable to base64 decode") from None


def _tensor(value: Any, dtype: str) -> tuple[list[int], list[Any]]:
    shape = _dense_shape(value)
    values: list[Any] = []
    _fill_tensor(value, 0, shape, dtype, values)
    return shape, values


def _array(shape: list[int], values: list[Any], dtype: str) -> np.ndarray:
    return np.array(values, dtype=NUMPY_DTYPES[dtype]).reshape(shape)


def _instance_item(item: Any, name: str, inputs: dict[str, TensorInfo],
                   shapes: dict[str, tuple[list[int], int]], rows: dict[str, list[np.ndarray]]) -> None:
    """json_tensor.cc: AddInstanceItem: every instance of an input has the first one's size and shape."""
    if name not in inputs:
        raise InvalidArgumentError(f"JSON object: does not have named input: {name}")
    shape, values = _tensor(item, inputs[name].dtype)
    if name not in shapes:
        shapes[name] = (shape, len(values))
    elif shapes[name][1] != len(values):
        raise InvalidArgumentError(f"Expecting tensor size: {shapes[name][1]} but got: {len(values)}")
    elif shapes[name][0] != shape:
        raise InvalidArgumentError(f"Expecting shape [{','.join(map(str, shapes[name][0]))}] "
                                   f"but got: [{','.join(map(str, shape))}]")
    rows.setdefault(name, []).append(_array(shape, values, inputs[name].dtype))


def _from_instances(instances: list[Any], inputs: dict[str, TensorInfo]) -> dict[str, np.ndarray]:
    """json_tensor.cc: FillTensorMapFromInstancesList."""
    if not isinstance(instances[0], dict) and len(inputs) > 1:
        raise InvalidArgumentError("instances is a plain list, but expecting list of objects as multiple "
                                   "input tensors required as per tensorinfo_map")

    def is_element_object(value: Any) -> bool:
        return isinstance(value, dict) and not _is_base64_object(value)

    elements_are_objects = is_element_object(instances[0])
    shapes: dict[str, tuple[list[int], int]] = {}
    rows: dict[str, list[np.ndarray]] = {}
    for count, element in enumerate(instances):
        if elements_are_objects:
            if not is_element_object(element):
                raise InvalidArgumentError(f"Expecting object but got list at item {count} of input list")
            for name, item in element.items():
                try:
                    _instance_item(item, name, inputs, shapes, rows)
                except InvalidArgumentError as exc:
                    raise InvalidArgumentError(f"Failed to process element: {count} key: {name} of 'instances' list. "
                                               f"Error: {exc.to_string()}") from None
            if set(element) != set(inputs):
                raise InvalidArgumentError(f"Failed to process element: {count} of 'instances' list. JSON object: "
                                           f"{debug_string(element)} keys must be equal to: {','.join(sorted(inputs))}")
        else:
            if is_element_object(element):
                raise InvalidArgumentError(f"Expecting value/list but got object at item {count} of input list")
            name = next(iter(inputs))
            try:
                _instance_item(element, name, inputs, shapes, rows)
            except InvalidArgumentError as exc:
                raise InvalidArgumentError(f"Failed to process element: {count} of 'instances' list. "
                                           f"Error: {exc.to_string()}") from None
    return {name: np.stack(items) for name, items in rows.items()}


def _from_inputs(value: Any, inputs: dict[str, TensorInfo]) -> dict[str, np.ndarray]:
    """json_tensor.cc: FillTensorMapFromInputsMap. Names not in the signature are ignored, as there."""
    if not isinstance(value, dict) or _is_base64_object(value):
        if len(inputs) > 1:
            raise InvalidArgumentError("inputs is a plain value/list, but expecting an object as multiple "
                                       "input tensors required as per tensorinfo_map")
        name, info = next(iter(inputs.items()))
        return {name: _array(*_tensor(value, info.dtype), info.dtype)}
    tensors = {}
    for name, info in inputs.items():
        if name not in value:
            raise InvalidArgumentError(f"Missing named input: {name} in 'inputs' object.")
        tensors[name] = _array(*_tensor(value[name], info.dtype), info.dtype)
    return tensors


def predict_inputs(doc: dict[str, Any], inputs: dict[str, TensorInfo]) -> tuple[str, dict[str, np.ndarray]]:
    """json_tensor.cc: FillPredictRequestFromJson after the signature is found: ("row" or "columnar", tensors)."""
    if "instances" in doc:
        if "inputs" in doc:
            raise format_error(doc, "Not formatted correctly expecting only", " one of 'inputs' or 'instances' keys to exist ")
        if not isinstance(doc["instances"], list):
            raise format_error(doc, "Expecting 'instances' to be an list/array")
        if not doc["instances"]:
            raise format_error(doc, "No values in 'instances' array")
        return "row", _from_instances(doc["instances"], inputs)
    if "inputs" in doc:
        return "columnar", _from_inputs(doc["inputs"], inputs)
    raise InvalidArgumentError("Missing 'inputs' or 'instances' key")
