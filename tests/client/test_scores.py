"""The answer side of client.predict: parsing both response forms, top-k, the printed lines."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from client.common import BadResponseError
from client.predict import format_predictions, load_labels, parse_scores, top_k

SCORES = [round(0.001 * (i % 7), 3) for i in range(1000)]


@pytest.mark.parametrize("body", [
    {"predictions": [SCORES]},
    {"predictions": [{"probabilities": SCORES}]},
    {"outputs": [SCORES]},
    {"outputs": {"probabilities": [SCORES]}},
    {"outputs": SCORES},
], ids=["row", "row-named", "columnar", "columnar-named", "columnar-unbatched"])
def test_parse_scores_reads_both_response_forms(body: dict[str, Any]) -> None:
    scores = parse_scores(body)

    assert scores.shape == (1000,)
    assert scores.dtype == np.float64
    np.testing.assert_array_equal(scores, SCORES)


def test_parse_scores_accepts_whole_numbers() -> None:
    scores = parse_scores({"predictions": [[0] * 999 + [1]]})

    assert scores.dtype == np.float64
    assert scores[999] == 1.0


@pytest.mark.parametrize(("body", "message"), [
    ([SCORES], "expected a JSON object, got list"),
    ({"result": [SCORES]}, "no 'predictions' or 'outputs' (keys: result)"),
    ({}, "no 'predictions' or 'outputs' (keys: none)"),
    ({"predictions": [SCORES, SCORES]}, "one row for one image, got 2 rows"),
    ({"predictions": []}, "one row for one image, got 0 rows"),
    ({"predictions": "tabby"}, "one row for one image, got str"),
    ({"predictions": [SCORES[:10]]}, "expected 1000 class scores in 'predictions', got 10"),
    ({"outputs": [[*SCORES, 0.5]]}, "expected 1000 class scores in 'outputs', got 1001"),
    ({"predictions": [["0.5"] * 1000]}, 'expected 1000 numbers in \'predictions\', got a list holding "0.5"'),
    ({"predictions": [[True] * 1000]}, "got a list holding true"),
    ({"predictions": [[None] * 1000]}, "got a list holding null"),
    ({"predictions": [[SCORES]]}, "got a list holding [0.0, 0.001"),
    ({"outputs": {"probabilities": [SCORES], "logits": [SCORES]}}, "expected one output in 'outputs', got 2: logits, probabilities"),
    ({"predictions": [{}]}, "expected one output in 'predictions', got 0: none"),
    ({"predictions": [[float("nan"), *SCORES[1:]]]}, "NaN or infinite"),
    ({"outputs": [[*SCORES[1:], float("-inf")]]}, "NaN or infinite"),
    ({"outputs": [[10**400, *SCORES[1:]]]}, "NaN or infinite"),
])
def test_parse_scores_refuses_answers_of_the_wrong_shape(body: Any, message: str) -> None:
    with pytest.raises(BadResponseError) as caught:
        parse_scores(body)

    assert message in str(caught.value)
    assert caught.value.exit_code == 5


def test_top_k_is_best_first() -> None:
    scores = np.zeros(1000)
    scores[[7, 3, 999, 500]] = [0.2, 0.5, 0.1, 0.15]

    assert top_k(scores, 3) == [(3, 0.5), (7, 0.2), (500, 0.15)]
    assert top_k(scores, 5) == [(3, 0.5), (7, 0.2), (500, 0.15), (999, 0.1), (0, 0.0)]


def test_top_k_breaks_ties_by_class_index() -> None:
    scores = np.zeros(1000)
    scores[[900, 10, 400]] = 0.3

    assert [i for i, _ in top_k(scores, 4)] == [10, 400, 900, 0]


def test_top_k_of_all_classes_is_sorted() -> None:
    scores = np.random.default_rng(2).random(1000)

    ranked = top_k(scores, 1000)

    assert len(ranked) == 1000
    assert [s for _, s in ranked] == sorted(scores.tolist(), reverse=True)


def test_format_predictions_like_decode_predictions() -> None:
    lines = format_predictions([(281, 0.68821), (282, 0.2), (285, 0.00004)], load_labels())

    assert lines == [
        "  1. tabby (n02123045)         0.6882",
        "  2. tiger_cat (n02123159)     0.2000",
        "  3. Egyptian_cat (n02124075)  0.0000",
    ]


def test_format_predictions_of_nothing() -> None:
    assert format_predictions([], load_labels()) == []


@pytest.mark.parametrize(("body", "message"), [
    ({"predictions": "tabby"}, "expected 'predictions' to hold one row for one image, got str"),
    ({"predictions": [SCORES, SCORES]}, "expected 'predictions' to hold one row for one image, got 2 rows"),
    ({"result": [], "model": 1}, "the answer has no 'predictions' or 'outputs' (keys: model, result)"),
    ({"predictions": ["abc"]}, "expected 1000 numbers in 'predictions', got str \"abc\""),
    ({"outputs": 5}, "expected 1000 numbers in 'outputs', got int 5"),
    ({"predictions": [None]}, "expected 1000 numbers in 'predictions', got NoneType null"),
    ({"outputs": {"scores": "x" * 60}}, "expected 1000 numbers in 'outputs', got str \"" + "x" * 39),
    ({"predictions": [[0.5, {"a": "x" * 60}]]}, "expected 1000 numbers in 'predictions', got a list holding {\"a\": \"" + "x" * 33),
    ({"predictions": [[0.5] * 10]}, "expected 1000 class scores in 'predictions', got 10 (is the model an ImageNet classifier?)"),
    ({"outputs": [[0.5] * 1000, [0.5] * 1000]},
     "expected 1000 numbers in 'outputs', got a list holding [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5,"),
    ({"outputs": {"a": [SCORES], "b": [SCORES]}}, "expected one output in 'outputs', got 2: a, b"),
    ({"outputs": {}}, "expected one output in 'outputs', got 0: none"),
    ({"predictions": [[float("inf"), *SCORES[1:]]]}, "the model returned NaN or infinite scores in 'predictions'"),
])
def test_parse_scores_messages_in_full(body: Any, message: str) -> None:
    with pytest.raises(BadResponseError) as caught:
        parse_scores(body)

    assert str(caught.value) == message


def test_parse_scores_of_an_unbatched_named_output_and_a_batch_of_one_row() -> None:
    np.testing.assert_array_equal(parse_scores({"outputs": {"probabilities": SCORES}}), SCORES)
    np.testing.assert_array_equal(parse_scores({"predictions": [{"probabilities": SCORES}]}), SCORES)


def test_top_k_default_is_5() -> None:
    assert [i for i, _ in top_k(np.arange(1000.0))] == [999, 998, 997, 996, 995]


def test_format_predictions_ranks_from_1_and_pads_to_the_longest_name() -> None:
    lines = format_predictions([(0, 1.0), (999, 0.123456)], load_labels())

    assert lines == [
        "  1. tench (n01440764)          1.0000",
        "  2. toilet_tissue (n15075141)  0.1235",
    ]
