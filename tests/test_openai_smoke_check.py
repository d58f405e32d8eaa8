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
