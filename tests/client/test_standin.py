"""The stand-in itself: it says what it is, and its scores are deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from client.common import ServerError, request_json
from client.predict import BGR_MEANS
from tests.client import standin as standin_module
from tests.client.standin import COLOR_CLASSES, StandIn, scores_for


def test_docstring_says_it_is_not_tf_serving() -> None:
    doc = standin_module.__doc__ or ""

    assert "stand-in for TensorFlow Serving's REST API" in doc
    assert "NOT TensorFlow Serving" in doc


@pytest.mark.parametrize(("bgr", "color"), [((0, 0, 255), "red"), ((0, 255, 0), "green"), ((255, 0, 0), "blue")])
def test_scores_follow_the_dominant_colour(bgr: tuple[int, int, int], color: str) -> None:
    batch = np.broadcast_to(np.subtract(bgr, BGR_MEANS), (1, 224, 224, 3))

    scores = scores_for(batch)

    assert scores.shape == (1000,)
    assert scores.sum() == pytest.approx(1.0)
    assert int(np.argmax(scores)) == COLOR_CLASSES[color]
    np.testing.assert_array_equal(scores, scores_for(batch.copy()))


def test_unknown_path_is_404(standin: StandIn) -> None:
    with pytest.raises(ServerError, match="HTTP 404: Malformed request: GET /v2/models"):
        request_json(f"{standin.url}/v2/models")
