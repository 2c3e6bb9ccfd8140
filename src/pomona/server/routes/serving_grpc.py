"""The Open Inference Protocol v2 over gRPC: KServe's ``GRPCInferenceService``.

``ServerLive``, ``ServerReady``, ``ServerMetadata``, ``ModelReady``, ``ModelMetadata`` and
``ModelInfer`` on ``server.host:serving.grpc_port``, with the message classes and servicer
base that ``tritonclient[grpc]`` ships (no proto code here). A deployment is a model. Handlers run
in grpcio's thread pool and hand each request to the serving host on the server's event
loop: the same routes, micro-batching and prediction logging as REST. Errors: unknown
model ``NOT_FOUND``, bad input ``INVALID_ARGUMENT`` (the message names the input), a full
queue ``UNAVAILABLE``, a model that raises ``INTERNAL``. When the server has a token,
every call but the probes ``ServerLive`` and ``ServerReady`` needs the metadata
``authorization: Bearer <token>`` (``UNAUTHENTICATED``), as every REST route does.
"""

from __future__ import annotations

import asyncio
import struct
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from pomona import __version__
from pomona.errors import ConfigError, InvalidInputError, PomonaError
from pomona.server._auth import bearer_matches
from pomona.serving._images import ImageBudget
from pomona.serving.host import ServingHost
from pomona.serving.oip import DATATYPES, Tensor, model_metadata, output_tensors, parse_tensors

__all__ = ["start_grpc_server"]

_CONTENTS = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}


def _fail(message: str, field: str = "inputs") -> InvalidInputError:
    return InvalidInputError(message, details={"field": field})


def _array(item: Any, raw: bytes | None) -> np.ndarray[Any, Any]:
    """One input's values, from ``raw_input_contents`` or the typed ``contents``."""
    from pomona.server.routes.serving_oip import _bytes_elements

    name, datatype = item.name, item.datatype
    if raw is not None:
        if datatype == "BYTES":
            return np.asarray(_bytes_elements(raw), dtype=object)
        dtype = np.dtype(DATATYPES[datatype])
        if len(raw) % dtype.itemsize:
            raise _fail(f"Input '{name}' has {len(raw)} bytes: not a whole number of {datatype}.")
        return np.frombuffer(raw, dtype=dtype).copy()  # writable: models may write in place
    field = _CONTENTS.get(datatype)
    if field is None:
        raise _fail(f"Input '{name}': send {datatype} as raw_input_contents.", name)
    values = list(getattr(item.contents, field))
    if datatype == "BYTES":
        return np.asarray(values, dtype=object)
    return np.asarray(values, dtype=np.dtype(DATATYPES[datatype]))


def _tensors(request: Any) -> list[Tensor]:
    raws = list(request.raw_input_contents)
    if raws and len(raws) != len(request.inputs):
        raise _fail(f"{len(request.inputs)} inputs but {len(raws)} raw_input_contents.")
    out = []
    for i, item in enumerate(request.inputs):
        name, shape = item.name, list(item.shape)
        if item.datatype not in DATATYPES:
            raise _fail(f"Input '{name}' has datatype {item.datatype!r}; use one of OIP's.", name)
        if any(d < 0 for d in shape):
            raise _fail(f"Input '{name}' has shape {shape}: sizes cannot be negative.", name)
        array = _array(item, raws[i] if raws else None)
        if array.size != int(np.prod(shape)):
            raise _fail(f"Input '{name}' has {array.size} values for shape {shape}.", name)
        out.append(Tensor(name, item.datatype, shape, array.reshape(shape)))
    return out


def _raw(tensor: Tensor) -> bytes:
    if tensor.datatype == "BYTES":
        return b"".join(struct.pack("<I", len(v)) + v for v in tensor.data.reshape(-1))
    return np.ascontiguousarray(tensor.data).tobytes()


def _status(grpc: Any, error: PomonaError) -> Any:
    codes = grpc.StatusCode
    return {
        404: codes.NOT_FOUND,
        400: codes.INVALID_ARGUMENT,
        413: codes.INVALID_ARGUMENT,
        415: codes.INVALID_ARGUMENT,
        422: codes.INVALID_ARGUMENT,
        409: codes.FAILED_PRECONDITION,
        503: codes.UNAVAILABLE,
    }.get(error.http_status, codes.INTERNAL)


def _servicer(
    host: ServingHost,
    loop: asyncio.AbstractEventLoop,
    token: str | None,
    budget: ImageBudget | None = None,
) -> Any:
    import grpc  # type: ignore[import-untyped,unused-ignore]
    from tritonclient.grpc import (  # type: ignore[import-untyped,unused-ignore]
        service_pb2 as pb,
    )
    from tritonclient.grpc import (
        service_pb2_grpc as pb_grpc,
    )

    def guarded(fn: Any, *, probe: bool = False) -> Any:
        def call(self: Any, request: Any, context: Any) -> Any:
            if not probe and token is not None:
                given = dict(context.invocation_metadata()).get("authorization")
                if not bearer_matches(None if given is None else str(given), token):
                    context.abort(
                        grpc.StatusCode.UNAUTHENTICATED,
                        "This server requires a token: send 'authorization: Bearer <token>'.",
                    )
            try:
                return fn(request)
            except PomonaError as exc:
                context.abort(_status(grpc, exc), exc.message)

        return call

    def infer(request: Any) -> Any:
        from pomona.server.routes.serving_oip import _check_version, _safe_id

        if request.model_version:
            _check_version(host, request.model_name, request.model_version)
        tensors = _tensors(request)
        wanted = [o.name for o in request.outputs]
        rid = _safe_id(request.id or None)

        def parse(spec: Any) -> Any:
            return parse_tensors(spec, tensors)

        future = asyncio.run_coroutine_threadsafe(
            host.predict(
                request.model_name, parse if budget is None else budget.guard(parse), request_id=rid
            ),
            loop,
        )
        result = future.result()
        tensors_out = output_tensors(result, wanted)
        return pb.ModelInferResponse(
            model_name=request.model_name,
            model_version=result.model.rsplit(":", 1)[1],
            id=request.id or result.request_id,
            outputs=[
                pb.ModelInferResponse.InferOutputTensor(
                    name=t.name, datatype=t.datatype, shape=t.shape
                )
                for t in tensors_out
            ],
            raw_output_contents=[_raw(t) for t in tensors_out],
        )

    def metadata(request: Any) -> Any:
        meta = model_metadata(host, request.name)
        tensor = pb.ModelMetadataResponse.TensorMetadata
        return pb.ModelMetadataResponse(
            name=meta["name"],
            versions=meta["versions"],
            platform=meta["platform"],
            inputs=[tensor(**t) for t in meta["inputs"]],
            outputs=[tensor(**t) for t in meta["outputs"]],
        )

    def model_ready(request: Any) -> Any:
        return pb.ModelReadyResponse(ready=request.name in host.routes)

    class Servicer(pb_grpc.GRPCInferenceServiceServicer):  # type: ignore[misc]
        ServerLive = guarded(lambda _: pb.ServerLiveResponse(live=True), probe=True)
        ServerReady = guarded(
            lambda _: pb.ServerReadyResponse(ready=host.ready and not host.stopping), probe=True
        )
        ServerMetadata = guarded(
            lambda _: pb.ServerMetadataResponse(name="pomona", version=__version__)
        )
        ModelReady = guarded(model_ready)
        ModelMetadata = guarded(metadata)
        ModelInfer = guarded(infer)

    return grpc, pb_grpc, Servicer()


def start_grpc_server(
    host: ServingHost,
    bind: str,
    port: int,
    *,
    token: str | None = None,
    threads: int = 16,
    budget: ImageBudget | None = None,
) -> Any:
    """Serve OIP over gRPC on ``bind:port``; returns the started ``grpc.Server`` (stop it
    with ``stop(grace)``). Call it from the event loop the serving host runs on. Image
    tensors are checked against ``budget`` (their headers) before any is decoded."""
    loop = asyncio.get_running_loop()
    try:
        grpc, pb_grpc, servicer = _servicer(host, loop, token, budget)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"serving.grpc_port is set but {exc.name} is not installed.",
            hint="Install the gRPC extra: pip install 'pomona[grpc]'; or unset serving.grpc_port.",
        ) from exc
    server = grpc.server(ThreadPoolExecutor(threads, thread_name_prefix="pomona-grpc"))
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, server)
    address = f"[{bind}]:{port}" if ":" in bind else f"{bind}:{port}"
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError:  # grpcio raises when it cannot bind
        bound = 0
    if bound == 0:
        raise ConfigError(
            f"The gRPC port {port} cannot be bound.", hint="Set serving.grpc_port to a free port."
        )
    server.start()
    return server
