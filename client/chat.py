"""Ask an OpenAI-compatible server, such as the vLLM this stack deploys, one question. Standard library only.

    python -m client.chat "PROMPT" [--url http://localhost:8000/v1] [--model NAME] [--max-tokens 256] [--stream] [--timeout 30]

Sends `POST {url}/chat/completions` with `{"model": NAME, "messages": [{"role": "user", "content": PROMPT}],
"max_tokens": N}` and prints the answer (`choices[0].message.content`). With `--stream` it asks for
server-sent events (`"stream": true`) and prints each piece of the answer as it arrives. Without `--model`
it asks `GET {url}/models` and uses the one model listed (the stack serves one: its `modelName`).
The URL is the OpenAI base URL, the stack's `openaiEndpoint` output or `http://localhost:8000/v1` after
`kubectl port-forward svc/SERVICE 8000:8000`; `/v1` is added to a URL without a path.

Exit codes, as the other clients': 0 success; 2 usage error; 3 server unreachable, timed out (--timeout,
each wait for the next bytes) or the stream broke off; 4 the server answered with an error (an unknown model is
vLLM's HTTP 404 "The model `NAME` does not exist.", shown with the models it serves); 5 the answer is not what
the OpenAI API sends (or the server lists no model, or several and --model is missing).
Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from client import openai_api
from client.common import (
    DEFAULT_TIMEOUT,
    EXIT_OK,
    ClientError,
    _base_url,
    _Parser,
    _seconds,
    read_json,
    run,
)


def max_tokens(value: str) -> int:
    """argparse type of --max-tokens: 1 to 1,000,000."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if not 1 <= number <= 1_000_000:
        raise argparse.ArgumentTypeError(f"must be between 1 and 1000000, got {number}")
    return number


def openai_url(value: str) -> str:
    """argparse type of an OpenAI base URL: http(s)://HOST:PORT[/PATH], `/v1` added when there is no path."""
    try:
        return openai_api.base_url(_base_url(value))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected http://HOST:PORT/v1, got {value!r}") from None


def make_chat_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m client.chat",
                     description="Ask an OpenAI-compatible server (vLLM's port 8000) one question and print the answer.")
    parser.add_argument("prompt", metavar="PROMPT", help="the question (the user message)")
    parser.add_argument("--url", type=openai_url, default=openai_api.DEFAULT_OPENAI_URL,
                        help=f"the OpenAI base URL, the stack's openaiEndpoint (default: {openai_api.DEFAULT_OPENAI_URL}, "
                             "after kubectl port-forward)")
    parser.add_argument("--model", type=served_model_name, metavar="NAME",
                        help="the model, the stack's modelName (default: the only one GET /v1/models lists)")
    parser.add_argument("--max-tokens", type=max_tokens, default=openai_api.DEFAULT_MAX_TOKENS, metavar="N",
                        help=f"the most tokens to generate (default: {openai_api.DEFAULT_MAX_TOKENS})")
    parser.add_argument("--stream", action="store_true", help="print the answer as it is generated (server-sent events)")
    parser.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT,
                        help=f"seconds to wait for the server, each time it is waited for (default: {DEFAULT_TIMEOUT:g})")
    return parser


def served_model_name(value: str) -> str:
    """argparse type of --model: vLLM names a model by its path or Hugging Face id unless --served-model-name
    says otherwise, so `/` and `:` are allowed (unlike TF Serving's names); no spaces around it."""
    if not value or value != value.strip():
        raise argparse.ArgumentTypeError(f"not a model name: {value!r}")
    return value


def chat(base: str, model: str, prompt: str, max_tokens: int, stream: bool, timeout: float, out: TextIO) -> None:
    """Ask and print the answer (piece by piece with `stream`), ending with a newline."""
    body = openai_api.chat_body(model, prompt, max_tokens, stream)
    url = f"{base}/chat/completions"
    with openai_api.post_chat(base, body, timeout) as response:
        if not stream:
            out.write(openai_api.answer_text(read_json(response, url, timeout), url) + "\n")
            return
        printed = False
        try:
            for event in openai_api.read_events(response, url, timeout, clock=lambda: 0.0):
                piece = event.content
                if piece:
                    out.write(piece)
                    out.flush()
                    printed = True
        except ClientError:
            if printed:
                out.write("\n")  # the error's line starts on a line of its own
                out.flush()
            raise
        out.write("\n")


def _chat(argv: Sequence[str] | None) -> int:
    args = make_chat_parser().parse_args(argv)
    model = args.model or openai_api.only_model(args.url, args.timeout)
    chat(args.url, model, args.prompt, args.max_tokens, args.stream, args.timeout, sys.stdout)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m client.chat`; returns the exit code."""
    return run(_chat, argv)


if __name__ == "__main__":
    raise SystemExit(main())
