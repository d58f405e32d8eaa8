"""The vLLM smoke check (eks_inferentia/openai_smoke_check.py) against a small OpenAI-compatible fake: an HTTP
server on loopback answering `GET /v1/models` and `POST /v1/completions` as the OpenAI API reference describes
them (a `list` of `model` objects; a `text_completion` with `choices[].text` and `usage`)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from eks_inferentia import openai_smoke_check, smoke_check
from eks_inferentia.openai_smoke_check import MAX_TOKENS, PROMPT, check, main
from eks_inferentia.smoke_check import SmokeTestError
from tests.test_smoke_check import _Answer


class FakeOpenAI:
    """What the fake serves; tests change it to make it misbehave."""

    def __init__(self) -> None:
        self.models = ["llama-3.1-8b"]
        self.completion: dict[str, Any] | None = None
        self.status = 200
        self.requests: list[tuple[str, str, Any]] = []

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        self.requests.append((method, path, body))
        if method == "GET" and path == "/v1/models":
            return 200, {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "vllm"} for m in self.models]}
        if method == "POST" and path == "/v1/completions":
            if body.get("model") not in self.models:
                return 404, {"error": {"message": f"The model `{body.get('model')}` does not exist.",
                                       "type": "NotFoundError", "code": 404}}
            if self.status != 200:
                return self.status, {"error": {"message": "engine dead", "type": "InternalServerError"}}
            return 200, self.completion or {
                "id": "cmpl-1", "object": "text_completion", "created": 1, "model": body["model"],
                "choices": [{"index": 0, "text": " Paris.", "finish_reason": "stop", "logprobs": None}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}
        return 404, {"error": {"message": "not found"}}


@pytest.fixture
def fake() -> Iterator[tuple[str, FakeOpenAI]]:
    state = FakeOpenAI()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, answer = state.answer(method, self.path, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._reply("GET")

        def do_POST(self) -> None:
            self._reply("POST")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()


def test_a_served_model_is_listed_and_completes_a_short_prompt(fake) -> None:
    url, state = fake
    assert check(url + "/", "llama-3.1-8b") == (
        "OK: llama-3.1-8b is listed and completed 'The capital of France is' with 3 token(s): 'Paris.'")
    assert state.requests == [
        ("GET", "/v1/models", None),
        ("POST", "/v1/completions", {"model": "llama-3.1-8b", "prompt": PROMPT, "max_tokens": MAX_TOKENS,
                                     "temperature": 0})]


def test_a_model_the_server_does_not_list_fails_naming_what_it_lists(fake) -> None:
    url, _ = fake
    with pytest.raises(SmokeTestError) as failure:
        check(url, "mistral-7b", wait_seconds=0)
    assert str(failure.value) == (f"{url}/v1/models does not list model mistral-7b (it lists: llama-3.1-8b); "
                                  "is modelName the served model name?")


@pytest.mark.parametrize(("completion", "message"), [
    ({"model": "llama-3.1-8b", "choices": [], "usage": {"completion_tokens": 1}},
     "the completion answered without text and completion tokens"),
    ({"model": "llama-3.1-8b", "choices": [{"text": "x"}], "usage": {"completion_tokens": 0}},
     "the completion answered without text and completion tokens"),
    ({"model": "llama-3.1-8b", "choices": [{"text": None}], "usage": {"completion_tokens": 2}},
     "the completion answered without text and completion tokens"),
    ({"model": "other", "choices": [{"text": "x"}], "usage": {"completion_tokens": 2}},
     "the completion answered for model 'other', not 'llama-3.1-8b'"),
])
def test_a_completion_without_text_tokens_or_for_another_model_fails(fake, completion: dict, message: str) -> None:
    url, state = fake
    state.completion = completion
    with pytest.raises(SmokeTestError, match=message):
        check(url, "llama-3.1-8b")


def test_a_server_error_is_named_with_its_status(fake) -> None:
    url, state = fake
    state.status = 500
    with pytest.raises(SmokeTestError, match=r"/v1/completions answered HTTP 500: .*engine dead"):
        check(url, "llama-3.1-8b")


def test_runs_as_the_job_runs_it_beside_smoke_check_with_the_standard_library_only(fake, tmp_path: Path) -> None:
    url, _ = fake
    for script in ("openai_smoke_check.py", "smoke_check.py"):
        (tmp_path / script).write_text((Path(openai_smoke_check.__file__).parent / script).read_text())
    done = subprocess.run([sys.executable, "-E", "-s", str(tmp_path / "openai_smoke_check.py"), url, "llama-3.1-8b"],
                          capture_output=True, text=True, cwd=tmp_path, check=False)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("OK: llama-3.1-8b is listed")
    done = subprocess.run([sys.executable, "-E", "-s", str(tmp_path / "openai_smoke_check.py"), url],
                          capture_output=True, text=True, cwd=tmp_path, check=False)
    assert (done.returncode, done.stderr) == (2, "usage: openai_smoke_check.py BASE_URL MODEL_NAME\n")


def test_main_fails_with_one_line_in_the_termination_log(fake, tmp_path: Path, monkeypatch, capsys) -> None:
    url, state = fake
    state.status = 503
    log = tmp_path / "termination-log"
    monkeypatch.setattr(smoke_check, "TERMINATION_LOG", str(log))  # report_failure, shared with the REST check
    assert main([url, "llama-3.1-8b"]) == 1
    line = capsys.readouterr().err
    assert line.startswith("smoke test failed: ") and line.count("\n") == 1
    assert log.read_text() == line.rstrip("\n")


# -- in this process, without a server: mutation testing sees only what runs here --

MODEL = "llama-3.1-8b"
LISTING = {"object": "list", "data": [{"id": MODEL, "object": "model"}]}


def completion(text: str = " Paris.", tokens: object = 3, model: str = MODEL) -> dict[str, Any]:
    return {"id": "cmpl-1", "object": "text_completion", "model": model,
            "choices": [{"index": 0, "text": text, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": tokens, "total_tokens": 8}}


class Clock:
    """time.monotonic and time.sleep: a sleep moves the clock on by its seconds, and is recorded."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[object] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(openai_smoke_check.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(openai_smoke_check.time, "sleep", fake.sleep)
    return fake


def answering(monkeypatch: pytest.MonkeyPatch, *listings: Any, answer: Any = None) -> list[tuple[str, Any]]:
    """Replace the check's requests: `/v1/models` answers `listings` in turn (the last one again and again),
    `/v1/completions` answers `answer` (a completion of " Paris." by default). Returns the (url, body) asked."""
    asked: list[tuple[str, Any]] = []

    def request(url: str, body: Any = None, timeout: float = 60) -> Any:
        asked.append((url, body))
        if url.endswith("/v1/models"):
            polls = sum(1 for u, _ in asked if u.endswith("/v1/models"))
            return listings[min(polls, len(listings)) - 1]
        assert url.endswith("/v1/completions")
        return completion() if answer is None else answer

    monkeypatch.setattr(openai_smoke_check, "_request", request)
    return asked


@pytest.mark.parametrize("base", ["http://BOX", "http://BOX/", "http://BOX//"])
def test_the_base_url_loses_its_trailing_slashes_only(monkeypatch: pytest.MonkeyPatch, clock: Clock, base: str) -> None:
    # Python's http.server (so the fake above) collapses a leading "//" in a path; not every server does.
    asked = answering(monkeypatch, LISTING)
    check(base, MODEL)
    assert [url for url, _ in asked] == ["http://BOX/v1/models", "http://BOX/v1/completions"]


def test_a_base_url_with_a_path_keeps_it(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    asked = answering(monkeypatch, LISTING)
    check("http://gateway/vllm/", MODEL)
    assert [url for url, _ in asked] == ["http://gateway/vllm/v1/models", "http://gateway/vllm/v1/completions"]


def test_the_ok_line_shows_the_first_60_characters_of_the_stripped_answer(monkeypatch: pytest.MonkeyPatch,
                                                                          clock: Clock) -> None:
    text = " Paris, which is also the largest city of the country and its economic and cultural centre.\n"
    answering(monkeypatch, LISTING, answer=completion(text, tokens=8))
    assert check("http://h", MODEL) == (
        "OK: llama-3.1-8b is listed and completed 'The capital of France is' with 8 token(s): "
        "'Paris, which is also the largest city of the country and its'")


def test_one_completion_token_is_enough(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    answering(monkeypatch, LISTING, answer=completion(" Paris", tokens=1))
    assert check("http://h", MODEL) == (
        "OK: llama-3.1-8b is listed and completed 'The capital of France is' with 1 token(s): 'Paris'")


def test_the_listing_waits_60_s_and_the_completion_120_s(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    # A first completion on a Neuron device may take a while; the listing should not.
    opened: list[tuple[str, object]] = []

    def urlopen(request: Any, **kwargs: object) -> _Answer:
        opened.append((request.full_url, kwargs.get("timeout", "no timeout")))
        return _Answer(json.dumps(LISTING if request.full_url.endswith("/v1/models") else completion()).encode())

    monkeypatch.setattr(smoke_check.urllib.request, "urlopen", urlopen)
    check("http://h", MODEL)
    assert opened == [("http://h/v1/models", 60), ("http://h/v1/completions", 120)]


LONG_TEXT = "Paris " * 60


@pytest.mark.parametrize("answer", [
    [{"text": "Paris", "usage": {"completion_tokens": 1}}],  # a JSON list, not an object
    "Paris",  # a JSON string
    {"model": MODEL, "choices": [{"text": "Paris"}], "usage": [3]},  # usage not an object
    {"model": MODEL, "choices": [{"text": "Paris"}], "usage": "3 tokens"},
    {"model": MODEL, "choices": [{"text": "Paris"}], "usage": {"completion_tokens": True}},  # JSON true is no count
    {"model": MODEL, "choices": [{"text": "Paris"}], "usage": {"completion_tokens": "3"}},
    {"model": MODEL, "choices": ["Paris"], "usage": {"completion_tokens": 3}},  # a choice not an object
    {"model": MODEL, "choices": {"text": "Paris"}, "usage": {"completion_tokens": 3}},
    {"model": MODEL, "choices": [{"text": LONG_TEXT}], "usage": {"completion_tokens": 0}},  # longer than 200 in JSON
])
def test_an_answer_without_text_and_tokens_fails_showing_its_first_200_characters(
        monkeypatch: pytest.MonkeyPatch, clock: Clock, answer: Any) -> None:
    answering(monkeypatch, LISTING, answer=answer)
    with pytest.raises(SmokeTestError) as failure:
        check("http://h", MODEL)
    assert str(failure.value) == ("the completion answered without text and completion tokens: "
                                  + json.dumps(answer)[:200])


def test_the_failure_cuts_a_long_answer_at_200_characters(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    answer = {"model": MODEL, "choices": [{"text": LONG_TEXT}], "usage": {"completion_tokens": 0}}
    answering(monkeypatch, LISTING, answer=answer)
    with pytest.raises(SmokeTestError) as failure:
        check("http://h", MODEL)
    shown = str(failure.value).removeprefix("the completion answered without text and completion tokens: ")
    assert shown == '{"model": "llama-3.1-8b", "choices": [{"text": "' + LONG_TEXT[:152]
    assert len(shown) == 200


@pytest.mark.parametrize(("listing", "lists"), [
    ({"object": "list", "data": []}, "nothing"),
    ([{"id": MODEL}], "nothing"),  # a JSON list, not an object
    ("llama-3.1-8b", "nothing"),
    ({"data": "llama-3.1-8b"}, "nothing"),  # data not a list
    ({"data": 8}, "nothing"),
    ({"data": {"id": MODEL}}, "nothing"),
    ({"data": [MODEL, {"id": "mistral-7b"}]}, "mistral-7b"),  # an entry not an object
    ({"data": [{"id": "mistral-7b"}, {"id": "qwen2.5-7b"}]}, "mistral-7b, qwen2.5-7b"),
])
def test_a_listing_without_the_model_fails_naming_what_it_lists(
        monkeypatch: pytest.MonkeyPatch, clock: Clock, listing: Any, lists: str) -> None:
    answering(monkeypatch, listing)
    with pytest.raises(SmokeTestError) as failure:
        check("http://h", MODEL, wait_seconds=0)
    assert str(failure.value) == (f"http://h/v1/models does not list model {MODEL} (it lists: {lists}); "
                                  "is modelName the served model name?")


def test_it_polls_every_5_seconds_until_the_model_is_listed(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    empty = {"object": "list", "data": []}
    asked = answering(monkeypatch, empty, empty, LISTING)
    check("http://h", MODEL, wait_seconds=600)
    assert [url for url, _ in asked] == ["http://h/v1/models"] * 3 + ["http://h/v1/completions"]
    assert clock.sleeps == [5, 5]


def test_it_gives_up_once_the_clock_reaches_the_deadline(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    asked = answering(monkeypatch, {"data": []})
    with pytest.raises(SmokeTestError, match="does not list model"):
        check("http://h", MODEL, wait_seconds=10)
    assert len(asked) == 3 and clock.sleeps == [5, 5]  # polls at 0, 5 and 10 s: 10 s is the deadline
    assert clock.now == 1010


def test_main_prints_the_ok_line_and_exits_0(monkeypatch: pytest.MonkeyPatch, clock: Clock,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    answering(monkeypatch, LISTING)
    assert main(["http://h/", MODEL]) == 0
    assert capsys.readouterr() == (
        "OK: llama-3.1-8b is listed and completed 'The capital of France is' with 3 token(s): 'Paris.'\n", "")


@pytest.mark.parametrize("argv", [[], ["http://h"], ["http://h", MODEL, "extra"]])
def test_main_without_url_and_model_prints_the_usage_and_exits_2(argv: list[str],
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr() == ("", "usage: openai_smoke_check.py BASE_URL MODEL_NAME\n")


def test_main_waits_120_s_for_the_model_then_fails_with_one_line_in_the_termination_log(
        monkeypatch: pytest.MonkeyPatch, clock: Clock, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "termination-log"
    monkeypatch.setattr(smoke_check, "TERMINATION_LOG", str(log))
    asked = answering(monkeypatch, {"data": [{"id": "mistral-7b"}]})
    assert main(["http://h", MODEL]) == 1
    message = ("smoke test failed: http://h/v1/models does not list model llama-3.1-8b (it lists: mistral-7b); "
               "is modelName the served model name?")
    assert capsys.readouterr() == ("", message + "\n")
    assert log.read_text() == message
    assert clock.sleeps == [5] * 24 and len(asked) == 25 and clock.now == 1120
