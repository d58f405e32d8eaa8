"""Classify an image with the ResNet-50 that TensorFlow Serving serves, over its REST API.

    python -m client.predict IMAGE [--url http://localhost:9000 | --grpc localhost:8500] [--model resnet50_neuron]
                             [--top 5] [--timeout 30] [--input input_1]

The image is prepared exactly as `tf.keras.preprocessing.image.load_img(path, target_size=(224, 224))`
and `tf.keras.applications.resnet50.preprocess_input` prepare it in the AWS walkthrough: converted to
RGB, resized to 224x224 (nearest neighbour, Keras' default), channels flipped to BGR and the ImageNet
channel means (103.939, 116.779, 123.68, in BGR order) subtracted, without scaling ("caffe" mode).
It is sent as `POST {url}/v1/models/{model}:predict` with `{"instances": [224x224x3 nested list]}`.
The answer, `{"predictions": [[1000 scores]]}` or the columnar `{"outputs": ...}`, is printed
best first, like Keras' `decode_predictions`. With `--grpc HOST:PORT` the same array goes to
`tensorflow.serving.PredictionService/Predict` as the DT_FLOAT [1, 224, 224, 3] TensorProto of input
`--input` (in `tensor_content`), as the walkthrough's TensorFlow client sends it, and the one output's
1000 scores are read from the answer (`client.grpc_api`):

      1. tabby (n02123045)           0.6882

Exit codes: 0 success; 2 usage or input error (missing file, not an image, bad option);
3 server unreachable or timed out (--timeout); 4 the server answered with an error (unknown model: TF Serving's
`Servable not found for request: Latest(NAME)`, HTTP 404 or gRPC NOT_FOUND; 5xx); 5 the answer is not 1000
numeric scores, or the port does not speak the protocol asked for.
Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from client.common import (
    EXIT_OK,
    BadResponseError,
    UsageError,
    make_parser,
    model_url,
    request_json,
    run,
)

DEFAULT_INPUT = "input_1"
"""The input name of Keras' ResNet-50 serving signature; a gRPC request names its input (a REST row need not)."""
IMAGE_SIZE = (224, 224)
"""ResNet-50's input (width, height)."""
BGR_MEANS = (103.939, 116.779, 123.68)
"""ImageNet channel means in BGR order, as Keras' `imagenet_utils` "caffe" mode subtracts them."""
NUM_CLASSES = 1000
LABELS_FILE = "imagenet_class_index.json"
"""Keras' ImageNet class index, byte for byte (md5 c2c37ea517e94d9795004a39431a14cb)."""

Label = tuple[str, str]
"""(WordNet id, class name), e.g. ("n02123045", "tabby")."""


def load_labels() -> list[Label]:
    """The 1000 ImageNet classes in Keras' order, from the data file next to this module."""
    text = resources.files("client").joinpath(LABELS_FILE).read_text(encoding="utf-8")
    index = json.loads(text)
    return [(str(index[str(i)][0]), str(index[str(i)][1])) for i in range(NUM_CLASSES)]


def load_image(path: str | Path) -> Image.Image:
    """Open any image Pillow reads, fully decoded; UsageError when it cannot."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy() if image.mode == "RGB" else image.convert("RGB")
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not an image") from None
    except PermissionError:
        raise UsageError(f"cannot read {path}: permission denied") from None
    except Image.UnidentifiedImageError:
        raise UsageError(f"{path} is not an image Pillow can read") from None
    except Image.DecompressionBombError as exc:
        raise UsageError(f"{path} is too large to decode safely: {exc}") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # truncated or corrupt data
        raise UsageError(f"cannot decode image {path}: {exc}") from None


def preprocess(image: Image.Image) -> np.ndarray:
    """The (224, 224, 3) float32 array ResNet-50 expects: Keras' load_img + resnet50.preprocess_input.

    RGB, resized to 224x224 with nearest neighbour (Keras' load_img default), then "caffe" mode:
    RGB -> BGR and each channel minus its ImageNet mean, no scaling.
    """
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    if rgb.size != IMAGE_SIZE:
        rgb = rgb.resize(IMAGE_SIZE, Image.Resampling.NEAREST)
    pixels = np.asarray(rgb, dtype=np.float32)
    bgr = pixels[..., ::-1]
    return np.ascontiguousarray(bgr - np.asarray(BGR_MEANS, dtype=np.float32), dtype=np.float32)


def build_request(array: np.ndarray) -> dict[str, Any]:
    """TF Serving's row-format predict body for one image: `{"instances": [224x224x3 nested list]}`.

    Values are rounded to 3 decimals, exact for whole pixel values minus the 3-decimal means,
    which keeps the JSON small (about 1.2 MB).
    """
    if array.shape != (*IMAGE_SIZE[::-1], 3):
        raise ValueError(f"expected a (224, 224, 3) array, got {array.shape}")
    return {"instances": [np.round(array.astype(np.float64), 3).tolist()]}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _single_output(value: Any, key: str) -> Any:
    """An output given by name (`{"name": ...}`): the only one; several are ambiguous."""
    if isinstance(value, dict):
        if len(value) != 1:
            names = ", ".join(sorted(map(str, value))) or "none"
            raise BadResponseError(f"expected one output in {key!r}, got {len(value)}: {names}")
        return next(iter(value.values()))
    return value


def parse_scores(body: Any) -> np.ndarray:
    """The 1000 class scores of one image from a predict answer, as float64.

    Accepts the row form `{"predictions": [[...]]}` (or `[{"name": [...]}]`) and the columnar
    form `{"outputs": [[...]]}` (or `{"name": [[...]]}`); raises BadResponseError otherwise.
    """
    if not isinstance(body, dict):
        raise BadResponseError(f"expected a JSON object, got {type(body).__name__}")
    if "predictions" in body:
        key = "predictions"
        rows = body["predictions"]
        if not isinstance(rows, list) or len(rows) != 1:
            got = f"{len(rows)} rows" if isinstance(rows, list) else type(rows).__name__
            raise BadResponseError(f"expected 'predictions' to hold one row for one image, got {got}")
        scores = _single_output(rows[0], key)
    elif "outputs" in body:
        key = "outputs"
        scores = _single_output(body["outputs"], key)
        if isinstance(scores, list) and len(scores) == 1 and isinstance(scores[0], list):
            scores = scores[0]  # the batch of one
    else:
        keys = ", ".join(sorted(map(str, body))) or "none"
        raise BadResponseError(f"the answer has no 'predictions' or 'outputs' (keys: {keys})")
    if not isinstance(scores, list) or not all(_is_number(s) for s in scores):
        raise BadResponseError(f"expected {NUM_CLASSES} numbers in {key!r}, got {_describe(scores)}")
    if len(scores) != NUM_CLASSES:
        raise BadResponseError(f"expected {NUM_CLASSES} class scores in {key!r}, got {len(scores)} (is the model an ImageNet classifier?)")
    try:
        array = np.asarray(scores, dtype=np.float64)
    except OverflowError:  # a whole number beyond float64
        array = np.array([math.inf])
    if not np.isfinite(array).all():
        raise BadResponseError(f"the model returned NaN or infinite scores in {key!r}")
    return array


def _describe(value: Any) -> str:
    """A short description of what came instead of a list of numbers."""
    if isinstance(value, list):
        bad = next((v for v in value if not _is_number(v)), None)
        return f"a list holding {json.dumps(bad)[:40]}"
    return f"{type(value).__name__} {json.dumps(value)[:40]}"


def top_k(scores: np.ndarray, k: int = 5) -> list[tuple[int, float]]:
    """The k best (class index, score) pairs, best first; ties go to the lower index."""
    order = np.argsort(-scores, kind="stable")[:k]
    return [(int(i), float(scores[i])) for i in order]


def format_predictions(top: Sequence[tuple[int, float]], labels: Sequence[Label]) -> list[str]:
    """One line per class, `  1. tabby (n02123045)  0.6882`, names padded to line up the scores."""
    names = [f"{labels[i][1]} ({labels[i][0]})" for i, _ in top]
    width = max((len(n) for n in names), default=0)
    return [f"{rank:>3}. {name:<{width}}  {score:.4f}" for rank, (name, (_, score)) in enumerate(zip(names, top, strict=True), 1)]


def _top(value: str) -> int:
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if not 1 <= k <= NUM_CLASSES:
        raise argparse.ArgumentTypeError(f"must be between 1 and {NUM_CLASSES}, got {k}")
    return k


def input_name(value: str) -> str:
    """argparse type of --input: a signature input's name."""
    if not value or value != value.strip():
        raise argparse.ArgumentTypeError(f"not an input name: {value!r}")
    return value


def add_input_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", type=input_name, default=DEFAULT_INPUT, metavar="NAME",
                        help=f"gRPC only: the serving signature's input name (default: {DEFAULT_INPUT}, Keras' ResNet-50)")


def make_predict_parser() -> argparse.ArgumentParser:
    parser = make_parser("python -m client.predict", "Classify an image with the served ResNet-50 (TensorFlow Serving REST or gRPC API).")
    parser.add_argument("image", metavar="IMAGE", help="image file (any format Pillow reads)")
    parser.add_argument("--top", type=_top, default=5, metavar="K", help="how many classes to print, best first (default: 5)")
    add_input_option(parser)
    return parser


def _predict(argv: Sequence[str] | None) -> int:
    args = make_predict_parser().parse_args(argv)

    labels = load_labels()
    image = preprocess(load_image(args.image))
    if args.grpc:
        from client import grpc_api  # grpcio only when asked for

        with grpc_api.Channel(args.grpc) as channel:
            response = channel.predict(grpc_api.predict_request(image, args.model, args.input), timeout=args.timeout)
        scores = grpc_api.output_scores(response, NUM_CLASSES)
    else:
        answer = request_json(model_url(args.url, args.model, ":predict"), build_request(image), timeout=args.timeout)
        scores = parse_scores(answer)
    for line in format_predictions(top_k(scores, args.top), labels):
        print(line)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m client.predict`; returns the exit code."""
    return run(_predict, argv)


if __name__ == "__main__":
    raise SystemExit(main())
