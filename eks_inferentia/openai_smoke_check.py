"""Smoke test of an OpenAI-compatible endpoint (vLLM, servingRuntime `vllm`), run by the SmokeTest Job.

    python openai_smoke_check.py BASE_URL MODEL_NAME

1. `GET BASE_URL/v1/models` until its `data` lists MODEL_NAME (the Deployment is ready, so this is quick).
2. `POST BASE_URL/v1/completions` with a short prompt, `max_tokens` 8 and `temperature` 0, and check the
   answer names the model and holds text and a positive `usage.completion_tokens`.

Standard library only, as `smoke_check.py` (whose request helper and failure handling it shares when it
sits beside it): one line and exit 0 on success; on failure one line naming what failed, written to the
container's termination log too, and exit 1.
"""

from __future__ import annotations

import json
import sys
import time

try:  # in the Job, smoke_check.py sits beside this file
    from smoke_check import SmokeTestError, _request, report_failure  # type: ignore[import-not-found,no-redef]
except ImportError:  # imported as part of the package (tests)
    from eks_inferentia.smoke_check import SmokeTestError, _request, report_failure

WAIT_FOR_MODEL_SECONDS = 120
PROMPT = "The capital of France is"
MAX_TOKENS = 8


def wait_for_model(base: str, model: str, wait_seconds: float | None = None) -> None:
    """Until `/v1/models` lists `model`; fails naming what it lists instead."""
    deadline = time.monotonic() + (WAIT_FOR_MODEL_SECONDS if wait_seconds is None else wait_seconds)
    while True:
        listing = _request(f"{base}/v1/models")
        data = listing.get("data") if isinstance(listing, dict) else None
        served = [str(entry.get("id")) for entry in data if isinstance(entry, dict)] if isinstance(data, list) else []
        if model in served:
            return
        if time.monotonic() >= deadline:
            raise SmokeTestError(f"{base}/v1/models does not list model {model} (it lists: "
                                 f"{', '.join(served) or 'nothing'}); is modelName the served model name?")
        time.sleep(5)


def complete(base: str, model: str) -> tuple[str, int]:
    """One short completion: (its text, its completion tokens)."""
    answer = _request(f"{base}/v1/completions",
                      {"model": model, "prompt": PROMPT, "max_tokens": MAX_TOKENS, "temperature": 0},
                      timeout=120)
    choices = answer.get("choices") if isinstance(answer, dict) else None
    text = choices[0].get("text") if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
    usage = answer.get("usage") if isinstance(answer, dict) else None
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    if not isinstance(text, str) or type(tokens) is not int or tokens < 1:
        raise SmokeTestError(f"the completion answered without text and completion tokens: {json.dumps(answer)[:200]}")
    if answer.get("model") != model:
        raise SmokeTestError(f"the completion answered for model {answer.get('model')!r}, not {model!r}")
    return text, tokens


def check(base: str, model: str, wait_seconds: float | None = None) -> str:
    """Run both steps; return the success line or raise `SmokeTestError`."""
    base = base.rstrip("/")
    wait_for_model(base, model, wait_seconds)
    text, tokens = complete(base, model)
    return f"OK: {model} is listed and completed {PROMPT!r} with {tokens} token(s): {text.strip()[:60]!r}"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: openai_smoke_check.py BASE_URL MODEL_NAME", file=sys.stderr)
        return 2
    try:
        print(check(argv[0], argv[1]))
        return 0
    except SmokeTestError as failure:
        return report_failure(failure)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
