"""A light client for the TensorFlow Serving this stack deploys: numpy, Pillow, grpcio and protobuf, no TensorFlow.

    python -m client.status  [--url URL | --grpc HOST:PORT] [--model NAME] [--timeout S]
    python -m client.predict IMAGE [--url URL | --grpc HOST:PORT] [--model NAME] [--top K] [--timeout S] [--input NAME]
    python -m client.loadtest (--url URL | --grpc HOST:PORT | --openai URL) --concurrency N (--requests N | --duration S) ...
    python -m client.chat "PROMPT" [--url http://localhost:8000/v1] [--model NAME] [--max-tokens N] [--stream]

They talk to TensorFlow Serving's REST API (port 9000 of the Service, reached with
`kubectl port-forward`), or with `--grpc` to its gRPC API (port 8500; `client.grpc_api`, messages in
`client.protos`); the defaults are `--url http://localhost:9000 --model resnet50_neuron`. `client.chat` and
`loadtest --openai` talk to an OpenAI-compatible server, the vLLM of `servingRuntime: vllm` (port 8000,
`client.openai_api`, standard library only).
Exit codes are the same for every command (`client.common`; loadtest's 1: too many errors):

    0  success
    1  status only: the model is known but no version is AVAILABLE (yet)
    2  usage or input error (bad option, missing file, not an image)
    3  the server cannot be reached (connection refused, name not resolved, timeout)
    4  the server answered with an error (unknown model, HTTP 4xx/5xx); its error text is shown
    5  the server's answer is not what TensorFlow Serving sends (not JSON, wrong shape, not numbers)

Every failure is one line on stderr, never a traceback.
"""
