"""`python -m client.loadtest --openai` against the OpenAI-compatible stand-in (not vLLM).

Time to first token and inter-token latency are asserted exactly: the stand-in advances a virtual clock
(`TokenClock`) by its `ttft` and `itl` and the generator stamps the stream's events with the same clock,
so no assertion depends on how fast anything ran.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from client import loadtest
from client.common import UsageError
from client.loadtest import Plan, Result, Sample, Tokens, read_prompts, report, to_json
from tests.client.helpers import assert_one_error_line
from tests.client.standin_openai import MODEL, OpenAIStandIn, TokenClock, error_body, tokens_for

PROMPTS, _ = read_prompts(None)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = loadtest.main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def answer_tokens(prompt: str, max_tokens: int) -> int:
    return min(len(tokens_for(prompt)), max_tokens)


def test_the_prompt_set() -> None:
    prompts, source = read_prompts(None)
    assert (len(prompts), source) == (16, "client/loadtest_prompts.txt")
    assert prompts[0] == "What is AWS Inferentia, in two sentences?"
    assert len(set(prompts)) == len(prompts) and not any(p.startswith("#") for p in prompts)


def test_ttft_and_itl_from_the_streams_chunks(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    clock = TokenClock()
    monkeypatch.setattr(loadtest, "token_clock", clock)
    out_json = tmp_path / "run.json"
    with OpenAIStandIn(ttft=0.25, itl=0.02, clock=clock) as server:
        code, out, err = run(capsys, "--openai", server.url, "--concurrency", "1", "--requests", "3", "--max-tokens", "10",
                             "--json", str(out_json))

    assert (code, err) == (0, "")
    # The prompts in turn, each streamed with usage, the model the server lists.
    assert [(method, path) for method, path, _, _ in server.requests] == [("GET", "/v1/models")] + [("POST", "/v1/chat/completions")] * 3
    bodies = [{"model": MODEL, "messages": [{"role": "user", "content": prompt}], "max_tokens": 10, "stream": True,
               "stream_options": {"include_usage": True}} for prompt in PROMPTS[:3]]
    assert server.bodies() == bodies
    assert [raw for _, _, _, raw in server.requests[1:]] == [json.dumps(body, separators=(",", ":")).encode() for body in bodies]
    assert {headers["Accept"] for _, _, headers, _ in server.requests[1:]} == {"text/event-stream"}
    assert {headers["Content-Type"] for _, _, headers, _ in server.requests[1:]} == {"application/json"}
    counts = [answer_tokens(prompt, 10) for prompt in PROMPTS[:3]]
    assert counts == [9, 10, 10]  # "You said: " and the prompt's words, cut at 10
    assert out[0] == (f"target:     openai {server.url}, model {MODEL}, 16 prompts from client/loadtest_prompts.txt, "
                      "at most 10 tokens each")
    assert out[1:3] == ["plan:       closed loop, 1 worker, 3 requests", "requests:   3 sent, 3 ok, 0 errors (0.0%)"]
    assert out[5].startswith("tokens:     29 output tokens (counted from usage), ") and out[5].endswith(" tokens/s")
    assert out[6:] == ["ttft ms:    p50 250.00  p90 250.00  p99 250.00  max 250.00 (time to first token, nearest rank)",
                       "itl ms:     p50 20.00  p90 20.00  p99 20.00  max 20.00 (inter-token latency, 26 gaps between chunks, nearest rank)"]

    written = json.loads(out_json.read_text())
    assert written["target"] == {"protocol": "openai", "address": server.url, "model": MODEL}
    assert written["payload_bytes"] is None
    summary = written["openai"]
    assert {k: summary[k] for k in ("prompts", "prompt_count", "max_tokens", "output_tokens", "token_count", "itl_gaps")} == {
        "prompts": "client/loadtest_prompts.txt", "prompt_count": 16, "max_tokens": 10, "output_tokens": 29, "token_count": "usage",
        "itl_gaps": 26}
    assert summary["ttft_ms"] == pytest.approx({"p50": 250.0, "p90": 250.0, "p99": 250.0, "max": 250.0})
    assert summary["itl_ms"] == pytest.approx({"p50": 20.0, "p90": 20.0, "p99": 20.0, "max": 20.0})
    assert [(s["ttft_ms"], s["output_tokens"], len(s["itl_ms"])) for s in written["samples"]] == [
        (pytest.approx(250.0), 9, 8), (pytest.approx(250.0), 10, 9), (pytest.approx(250.0), 10, 9)]


def test_percentiles_over_gaps_of_different_lengths(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two servers' worth of timing in one run: the generator's statistics over every request's chunks.
    clock = TokenClock()
    with OpenAIStandIn(ttft=0.1, itl=0.01, clock=clock) as fast:
        sender = loadtest.OpenAISender(fast.url, MODEL, ["one two three"], 16, timeout=5, clock=clock)
        first = loadtest.generate(sender, Plan(concurrency=1, requests=2))
        sender.close()
    with OpenAIStandIn(ttft=0.4, itl=0.05, clock=clock) as slow:
        sender = loadtest.OpenAISender(slow.url, MODEL, ["one two three"], 16, timeout=5, clock=clock)
        second = loadtest.generate(sender, Plan(concurrency=1, requests=1))
        sender.close()
    result = Result(Plan(concurrency=1, requests=3), first.samples + second.samples, wall=1.0)

    assert result.ttft_ms() == pytest.approx({"p50": 100.0, "p90": 400.0, "p99": 400.0, "max": 400.0})
    # "You said: one two three": 5 tokens, 4 gaps each; 8 gaps of 10 ms and 4 of 50 ms.
    assert result.itl_ms() == pytest.approx({"p50": 10.0, "p90": 50.0, "p99": 50.0, "max": 50.0})
    assert (result.itl_count, result.output_tokens, result.output_tokens_per_s) == (12, 15, 15.0)


def test_without_usage_the_chunks_are_counted(capsys: pytest.CaptureFixture[str]) -> None:
    with OpenAIStandIn(usage=False) as server:
        code, out, _ = run(capsys, "--openai", server.url, "--model", MODEL, "--concurrency", "2", "--requests", "4")
    assert code == 0
    total = sum(answer_tokens(prompt, 128) for prompt in PROMPTS[:4])
    assert out[5].startswith(f"tokens:     {total} output tokens (counted from chunks), ")
    assert [path for _, path, _, _ in server.requests] == ["/v1/chat/completions"] * 4  # --model: no model list


def test_usage_wins_over_the_chunk_count(capsys: pytest.CaptureFixture[str]) -> None:
    # A server that sends two pieces per chunk: usage says 4 tokens where there were 2 chunks.
    def chunk(data: dict[str, Any]) -> str:
        return f"data: {json.dumps(data)}\n\n"

    stream = (chunk({"choices": [{"index": 0, "delta": {"content": "Hello there"}}]})
              + chunk({"choices": [{"index": 0, "delta": {"content": " my friend"}, "finish_reason": "stop"}]})
              + chunk({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}) + "data: [DONE]\n\n")
    with OpenAIStandIn(reply=(200, stream.encode())) as server:
        code, out, _ = run(capsys, "--openai", server.url, "--model", MODEL, "--concurrency", "1", "--requests", "2")
    assert code == 0
    assert out[5].startswith("tokens:     8 output tokens (counted from usage), ")
    assert out[7].startswith("itl ms:     ") and "2 gaps between chunks" in out[7]


def test_errors_are_counted_by_kind(capsys: pytest.CaptureFixture[str]) -> None:
    faults: dict[int, tuple[int, bytes | dict[str, Any]]] = {
        1: (404, error_body(404, "The model `x` does not exist.", "NotFoundError", "model")),
        3: (503, error_body(503, "stand-in: overloaded", "ServiceUnavailable"))}
    with OpenAIStandIn(faults=faults) as server:
        code, out, err = run(capsys, "--openai", server.url, "--concurrency", "1", "--requests", "5")

    # Request 0 is the model list; 1 and 3 are the first and third chat completions.
    assert out[2:4] == ["requests:   5 sent, 3 ok, 2 errors (40.0%)",
                        "errors:     1 HTTP 404 (first: The model `x` does not exist.), 1 HTTP 503 (first: stand-in: overloaded)"]
    assert code == 1
    assert err == "error: 2 of 5 requests failed (40.0%), more than --max-error-ratio 0.01 allows\n"


@pytest.mark.parametrize(("standin", "kind"), [
    ({"error_after": 1}, "stream error (first: {url}/chat/completions failed mid-stream: stand-in: the engine failed mid-stream)"),
    ({"cut_after": 1}, "connection error (first: the stream from {url}/chat/completions broke off before data: [DONE])"),
    ({"reply": (200, b"data: [DONE]\n\n")}, "bad answer (first: the stream carried no content)"),
    ({"reply": (200, b"data: <html>\n\n")},
     "bad answer (first: {url}/chat/completions sent a stream event that is not a JSON object: '<html>')"),
    ({"ttft": 5}, "timeout (first: no answer from {url}/chat/completions within 0.2 s (raise --timeout?))"),
])
def test_stream_failures(capsys: pytest.CaptureFixture[str], standin: dict[str, Any], kind: str) -> None:
    with OpenAIStandIn(**standin) as server:
        code, out, _ = run(capsys, "--openai", server.url, "--model", MODEL, "--concurrency", "2", "--requests", "2",
                           "--timeout", "0.2")
    assert code == 1
    assert out[2] == "requests:   2 sent, 0 ok, 2 errors (100.0%)"
    assert out[3] == f"errors:     2 {kind.format(url=server.url)}"
    assert out[5:] == ["latency:    no ok answers", "tokens:     no ok answers"]


def test_the_model_must_be_named_when_the_server_lists_several(capsys: pytest.CaptureFixture[str]) -> None:
    with OpenAIStandIn(models=("a", "b")) as server:
        code, out, err = run(capsys, "--openai", server.url, "--concurrency", "1", "--requests", "1")
    assert (code, out) == (5, [])
    assert err == f"error: {server.url}/models lists 2 models (a, b); pass one as --model\n"


def test_a_server_that_does_not_answer_the_model_list(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # connections wait in its backlog, never answered
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        code, out, err = run(capsys, "--openai", url, "--concurrency", "1", "--requests", "1", "--timeout", "0.2")
    assert (code, out) == (3, [])
    assert err == f"error: no answer from {url}/models within 0.2 s (raise --timeout?)\n"


def test_prompts_from_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# mine\nfirst question\n\n   # indented, a comment all the same\nsecond question\n")
    with OpenAIStandIn() as server:
        code, out, _ = run(capsys, "--openai", server.url, "--model", MODEL, "--concurrency", "1", "--requests", "3",
                           "--prompts", str(prompts))
    assert code == 0
    assert out[0].endswith(f"2 prompts from {prompts}, at most 128 tokens each")
    assert [body["messages"][0]["content"] for body in server.bodies()] == ["first question", "second question", "first question"]

    prompts.write_text("# nothing but comments\n\n")
    code, out, err = run(capsys, "--openai", server.url, "--model", MODEL, "--concurrency", "1", "--requests", "1",
                         "--prompts", str(prompts))
    assert (code, out) == (2, [])
    assert_one_error_line(err, f"no prompts in {prompts}")


@pytest.mark.parametrize(("argv", "message"), [
    (["--max-tokens", "8"], "argument --max-tokens: only with --openai"),
    (["--prompts", "p.txt"], "argument --prompts: only with --openai"),
    (["--openai", "http://h:8000/v1", "--image", "cat.jpg"], "argument --image: not allowed with argument --openai"),
    (["--openai", "http://h:8000/v1", "--input", "x"], "argument --input: not allowed with argument --openai"),
    (["--openai", "http://h:8000/v1", "--url", "http://h:9000"], "argument --url: not allowed with argument --openai"),
    (["--openai", "http://h:8000/v1", "--max-tokens", "0"], "argument --max-tokens: must be between 1 and 1000000, got 0"),
])
def test_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = run(capsys, *argv, "--concurrency", "1", "--requests", "1")
    assert (code, out) == (2, [])
    assert_one_error_line(err, message, "(see --help)")
    assert err == f"error: {message} (see --help)\n"


def test_prompts_that_cannot_be_read(tmp_path: Path) -> None:
    missing, latin = tmp_path / "missing.txt", tmp_path / "latin-1.txt"
    latin.write_bytes(b"caf\xe9?\n")
    with pytest.raises(UsageError) as refused:
        read_prompts(missing)
    assert str(refused.value) == f"cannot read --prompts {missing}: No such file or directory"
    with pytest.raises(UsageError) as refused:
        read_prompts(latin)
    assert str(refused.value) == (f"cannot read --prompts {latin}: "
                                  "'utf-8' codec can't decode byte 0xe9 in position 3: invalid continuation byte")


def test_a_server_that_is_not_there(closed_url: str) -> None:
    sender = loadtest.OpenAISender(f"{closed_url}/v1", MODEL, ["hello"], 8, timeout=5)
    try:
        assert sender() == ("connection refused", "connection refused")
    finally:
        sender.close()


def test_the_report_of_a_run_without_two_chunks() -> None:
    result = Result(Plan(concurrency=1, requests=1), [Sample(0.0, 0.5, tokens=Tokens(0.3, (), 1, from_usage=False))], wall=0.5)
    assert report(result, "openai x", None)[-3:] == [
        "tokens:     1 output tokens (counted from chunks), 2.0 tokens/s",
        "ttft ms:    p50 300.00  p90 300.00  p99 300.00  max 300.00 (time to first token, nearest rank)",
        "itl ms:     no answer had two chunks with content"]


def test_a_run_whose_answers_counted_their_tokens_both_ways() -> None:
    samples = [Sample(0.0, 0.5, tokens=Tokens(0.25, (0.125,), 2, from_usage=True)),
               Sample(0.5, 0.5, tokens=Tokens(0.25, (), 1, from_usage=False))]
    result = Result(Plan(concurrency=1, requests=2), samples, wall=1.0)
    assert result.token_count_source() == "usage and chunks"
    assert report(result, "openai x", None)[5] == "tokens:     3 output tokens (counted from usage and chunks), 3.0 tokens/s"


OPENAI = {"prompts": "client/loadtest_prompts.txt", "prompt_count": 16, "max_tokens": 128}
METHOD = "ttft: request sent to first chunk with content; itl: gaps between consecutive chunks with content"


def test_the_json_report_with_tokens() -> None:
    samples = [Sample(0.0, 0.5, tokens=Tokens(0.125, (0.0625, 0.25), 3, from_usage=True)), Sample(0.5, 0.25, "stream error", "boom"),
               Sample(0.75, 0.375, tokens=Tokens(0.25, (0.125,), 2, from_usage=True))]
    result = Result(Plan(concurrency=1, requests=3), samples, wall=1.25)

    assert to_json(result, "openai", "http://h:8000/v1", MODEL, None, 30.0, OPENAI) == {
        "target": {"protocol": "openai", "address": "http://h:8000/v1", "model": MODEL},
        "plan": {"concurrency": 1, "requests": 3, "duration_s": None, "rate": None, "loop": "closed", "timeout_s": 30.0},
        "payload_bytes": None,
        "interrupted": False,
        "requests": 3,
        "ok": 2,
        "errors": {"stream error": 1},
        "error_ratio": 1 / 3,
        "wall_s": 1.25,
        "throughput_rps": 1.6,
        "latency_ms": {"p50": 375.0, "p90": 500.0, "p99": 500.0, "max": 500.0},
        "percentile_method": "nearest rank over the ok answers' durations",
        "rate": None,
        "samples": [{"start_s": 0.0, "duration_ms": 500.0, "error": None, "lag_ms": 0.0, "ttft_ms": 125.0, "output_tokens": 3,
                     "itl_ms": [62.5, 250.0]},
                    {"start_s": 0.5, "duration_ms": 250.0, "error": "stream error", "lag_ms": 0.0},
                    {"start_s": 0.75, "duration_ms": 375.0, "error": None, "lag_ms": 0.0, "ttft_ms": 250.0, "output_tokens": 2,
                     "itl_ms": [125.0]}],
        "openai": {**OPENAI, "output_tokens": 5, "output_tokens_per_s": 4.0, "token_count": "usage",
                   "ttft_ms": {"p50": 125.0, "p90": 250.0, "p99": 250.0, "max": 250.0},
                   "itl_ms": {"p50": 125.0, "p90": 250.0, "p99": 250.0, "max": 250.0}, "itl_gaps": 3, "ttft_itl_method": METHOD},
    }


def test_the_json_report_without_ok_answers() -> None:
    result = Result(Plan(concurrency=1, requests=1), [Sample(0.0, 0.25, "timeout", "no answer")], wall=0.25)
    assert to_json(result, "openai", "http://h:8000/v1", MODEL, None, 0.25, OPENAI)["openai"] == {
        **OPENAI, "output_tokens": 0, "output_tokens_per_s": 0.0, "token_count": None, "ttft_ms": None, "itl_ms": None, "itl_gaps": 0,
        "ttft_itl_method": METHOD}
