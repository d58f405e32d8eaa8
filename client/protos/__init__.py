"""TensorFlow Serving's gRPC messages, as this project's own `.proto` files (no TensorFlow needed).

`tensor.proto` (package `tensorflow`), `error_codes.proto` (`tensorflow.error`) and `serving.proto`
(`tensorflow.serving`) hold only the messages the client sends and reads, with TensorFlow Serving's
package names, message names and field numbers, so they are the same on the wire; each `.proto`
names the files it copies from. The `*_pb2.py` modules and their `*_pb2.pyi` stubs are generated
from them and committed; tests/client/test_protos.py regenerates them and fails when they differ:

    python -m grpc_tools.protoc -I . --python_out=. --pyi_out=. client/protos/*.proto

(run in the repository root, with grpcio-tools from requirements-dev.txt). The generated code
needs protobuf >= the protoc that wrote it (grpcio-tools 1.71.2 bundles protoc 29.0: protobuf 5.29).

The services are declared for documentation and for the method paths (`client.grpc_api`); no
gRPC stubs are generated: the client calls `channel.unary_unary` with those paths.
"""
