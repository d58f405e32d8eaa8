"""The image side of client.predict: loading, Keras' ResNet-50 preprocessing, the request body, the labels."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from client.common import UsageError
from client.predict import BGR_MEANS, build_request, load_image, load_labels, preprocess

MEAN_B, MEAN_G, MEAN_R = 103.939, 116.779, 123.68


def keras_caffe_reference(rgb: np.ndarray) -> np.ndarray:
    """keras.applications.imagenet_utils._preprocess_numpy_input(x, "channels_last", mode="caffe"), restated."""
    x = rgb.astype(np.float32)
    x = x[..., ::-1]  # 'RGB'->'BGR'
    mean = [103.939, 116.779, 123.68]
    x[..., 0] -= mean[0]
    x[..., 1] -= mean[1]
    x[..., 2] -= mean[2]
    return x


def test_means_are_keras_caffe_means_in_bgr_order() -> None:
    assert BGR_MEANS == (MEAN_B, MEAN_G, MEAN_R)


def test_preprocess_flips_rgb_to_bgr_and_subtracts_the_means() -> None:
    # 2x2 image: red, green / blue, white. Nearest-neighbour resizing keeps each one a 112x112 quadrant.
    image = Image.new("RGB", (2, 2))
    image.putdata([(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)])

    x = preprocess(image)

    assert x.shape == (224, 224, 3)
    assert x.dtype == np.float32
    expected = {
        (0, 0): (0 - MEAN_B, 0 - MEAN_G, 255 - MEAN_R),        # red: only the last (R) channel is high
        (0, 223): (0 - MEAN_B, 255 - MEAN_G, 0 - MEAN_R),      # green
        (223, 0): (255 - MEAN_B, 0 - MEAN_G, 0 - MEAN_R),      # blue: the first channel is B
        (223, 223): (255 - MEAN_B, 255 - MEAN_G, 255 - MEAN_R),
        (111, 111): (0 - MEAN_B, 0 - MEAN_G, 255 - MEAN_R),    # still red: nearest neighbour, no blending
        (112, 112): (255 - MEAN_B, 255 - MEAN_G, 255 - MEAN_R),
    }
    for (row, col), bgr in expected.items():
        np.testing.assert_allclose(x[row, col], bgr, rtol=0, atol=1e-4, err_msg=f"pixel {(row, col)}")


def test_preprocess_is_keras_caffe_mode_exactly_for_a_224x224_image() -> None:
    rgb = np.random.default_rng(5).integers(0, 256, size=(224, 224, 3), dtype=np.uint8)

    x = preprocess(Image.fromarray(rgb, "RGB"))

    np.testing.assert_array_equal(x, keras_caffe_reference(rgb))


def test_preprocess_resizes_with_nearest_neighbour_like_keras_load_img() -> None:
    rgb = np.random.default_rng(7).integers(0, 256, size=(300, 500, 3), dtype=np.uint8)
    image = Image.fromarray(rgb, "RGB")

    x = preprocess(image)

    keras_loaded = np.asarray(image.resize((224, 224), Image.Resampling.NEAREST))
    np.testing.assert_array_equal(x, keras_caffe_reference(keras_loaded))


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "I;16", "1"])
def test_preprocess_converts_any_mode_to_rgb(mode: str) -> None:
    image = Image.new("RGB", (64, 48), (255, 255, 255)).convert(mode)

    x = preprocess(image)

    assert x.shape == (224, 224, 3)
    assert x.dtype == np.float32


def test_preprocess_of_grey_subtracts_each_mean_from_the_same_value() -> None:
    x = preprocess(Image.new("L", (10, 10), 100))

    np.testing.assert_allclose(x[5, 5], (100 - MEAN_B, 100 - MEAN_G, 100 - MEAN_R), atol=1e-4)


def test_build_request_is_the_row_format_with_one_224x224x3_instance() -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    x = preprocess(Image.fromarray(rgb))

    text = json.dumps(build_request(x))

    body = json.loads(text)
    assert list(body) == ["instances"]
    sent = np.array(body["instances"])
    assert sent.shape == (1, 224, 224, 3)
    assert sent.dtype == np.float64
    np.testing.assert_allclose(sent[0], x, rtol=0, atol=5e-5)
    # Exactly the pixel minus the 3-decimal mean, written with at most 3 decimals.
    np.testing.assert_array_equal(sent[0], np.round(rgb[..., ::-1] - np.array([MEAN_B, MEAN_G, MEAN_R]), 3))
    assert not re.search(r"\.\d{4}", text)


def test_build_request_refuses_an_array_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"\(224, 224, 3\)"):
        build_request(np.zeros((1, 224, 224, 3), dtype=np.float32))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"])
def test_load_image_reads_common_formats(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"image.{fmt.lower()}"
    Image.new("RGB", (40, 30), (200, 10, 10)).save(path, format=fmt)

    image = load_image(path)

    assert image.mode == "RGB"
    assert image.size == (40, 30)


def test_load_image_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        load_image(tmp_path / "missing.jpg")


def test_load_image_of_a_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a directory"):
        load_image(tmp_path)


def test_load_image_of_a_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("not an image\n")

    with pytest.raises(UsageError, match="not an image Pillow can read") as caught:
        load_image(path)
    assert caught.value.exit_code == 2


def test_load_image_of_a_truncated_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    rgb = np.random.default_rng(3).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path, quality=95)
    path.write_bytes(path.read_bytes()[:600])

    with pytest.raises(UsageError, match="cannot decode image"):
        load_image(path)


# The labels: Keras' imagenet_class_index.json, shipped in client/.

KERAS_CLASS_INDEX_MD5 = "c2c37ea517e94d9795004a39431a14cb"
"""The file_hash keras.applications.imagenet_utils.decode_predictions checks its download against."""


def test_labels_file_is_keras_imagenet_class_index_byte_for_byte() -> None:
    data = resources.files("client").joinpath("imagenet_class_index.json").read_bytes()

    assert hashlib.md5(data).hexdigest() == KERAS_CLASS_INDEX_MD5
    assert list(json.loads(data)) == [str(i) for i in range(1000)]


def test_labels_are_the_1000_imagenet_classes_in_keras_order() -> None:
    labels = load_labels()

    assert len(labels) == 1000
    assert labels[0] == ("n01440764", "tench")
    assert labels[281] == ("n02123045", "tabby")
    assert labels[999] == ("n15075141", "toilet_tissue")
    wnids = [wnid for wnid, _ in labels]
    assert wnids == sorted(wnids)
    assert len(set(wnids)) == 1000
    assert all(re.fullmatch(r"n\d{8}", wnid) for wnid in wnids)
    assert all(name for _, name in labels)


# load_image's messages in full, and the image it returns

def test_load_image_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def message(path: Path) -> str:
        with pytest.raises(UsageError) as caught:
            load_image(path)
        assert caught.value.exit_code == 2
        return str(caught.value)

    assert message(tmp_path / "missing.jpg") == f"no such file: {tmp_path / 'missing.jpg'}"
    assert message(tmp_path) == f"{tmp_path} is a directory, not an image"
    text = tmp_path / "notes.jpg"
    text.write_text("not an image\n")
    assert message(text) == f"{text} is not an image Pillow can read"

    big = tmp_path / "big.png"
    Image.new("RGB", (40, 30)).save(big)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow refuses more than twice this
    assert message(big) == (f"{big} is too large to decode safely: Image size (1200 pixels) exceeds limit of 200 pixels, "
                            "could be decompression bomb DOS attack.")


def test_load_image_of_a_file_it_may_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(path: Path) -> Image.Image:  # chmod does not stop root, who runs the tests in CI containers
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Image, "open", denied)

    with pytest.raises(UsageError) as caught:
        load_image(tmp_path / "cat.jpg")
    assert str(caught.value) == f"cannot read {tmp_path / 'cat.jpg'}: permission denied"


def test_load_image_of_a_truncated_jpeg_in_full(tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    rgb = np.random.default_rng(3).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path, quality=95)
    path.write_bytes(path.read_bytes()[:600])

    with pytest.raises(UsageError) as caught:
        load_image(path)
    assert str(caught.value) == f"cannot decode image {path}: Truncated File Read"  # Pillow's words


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK"])
def test_load_image_converts_to_rgb_and_keeps_the_pixels(tmp_path: Path, mode: str) -> None:
    path = tmp_path / ("image.tif" if mode == "CMYK" else "image.png")
    Image.new("RGB", (8, 6), (255, 255, 255)).convert(mode).save(path)

    image = load_image(path)

    assert (image.mode, image.size) == ("RGB", (8, 6))
    assert image.getpixel((3, 2)) == (255, 255, 255)


def test_load_image_returns_an_rgb_image_fully_read(tmp_path: Path) -> None:
    path = tmp_path / "image.png"
    Image.new("RGB", (8, 6), (1, 2, 3)).save(path)

    image = load_image(path)
    path.unlink()  # decoded already: no file left open or read later

    assert (image.mode, image.size, image.getpixel((7, 5))) == ("RGB", (8, 6), (1, 2, 3))


def test_build_request_message() -> None:
    with pytest.raises(ValueError) as caught:
        build_request(np.zeros((224, 224), dtype=np.float32))
    assert str(caught.value) == "expected a (224, 224, 3) array, got (224, 224)"


def test_build_request_rounds_to_3_decimals() -> None:
    body = build_request(np.full((224, 224, 3), -0.12345, dtype=np.float32))

    assert body["instances"][0][0][0] == [-0.123, -0.123, -0.123]
