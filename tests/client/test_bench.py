"""`make bench`'s client table runs and shows the payloads the load generator sends (no timing is asserted)."""

from __future__ import annotations

from client import loadtest
from tools.bench import client_rows


def test_the_client_table() -> None:
    rows = client_rows(runs=1)

    assert [label for label, _, _ in rows] == ["payload bytes", "preprocess ms (once a run)", "encode ms (once a run)",
                                              "check an answer ms (each)", "round trip to the stand-in ms"]
    image = loadtest.synthetic_image()
    assert rows[0] == ("payload bytes", f"{len(loadtest.rest_payload(image)):,}",
                       f"{len(loadtest.grpc_payload(image, 'resnet50_neuron', 'input_1')):,}")
    assert rows[0][2] == "602,174"  # 602,112 bytes of float32 pixels, 62 of message around them
    assert all(float(value) > 0 for _, rest, grpc in rows[1:] for value in (rest, grpc))
