"""The Open Inference Protocol v2 over REST, with the binary tensor data extension.

``/v2/health/live``, ``/v2/health/ready``, ``/v2``, ``/v2/models/{name}``,
``/v2/models/{name}/ready`` and ``/v2/models/{name}/infer`` (a deployment is a model).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Coroutine
from typing import Any

import numpy as np
import orjson
from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from pomona import __version__
from pomona.errors import InvalidInputError, NotFoundError, PomonaError
from pomona.server._responses import json_response
from pomona.serving._images import ImageBudget
from pomona.serving.errors import OverloadedError
from pomona.serving.host import ServingHost
from pomona.serving.oip import DATATYPES, Tensor, model_metadata, output_tensors, parse_tensors

__all__ = ["oip_routes"]

HEADER = "inference-header-content-length"


def _fail(message: str, field: str = "inputs") -> InvalidInputError:
    return InvalidInputError(message, details={"field": field})


def _bytes_elements(raw: bytes) -> list[bytes]:
    """BYTES tensor data in the binary extension: 4-byte little-endian lengths + bytes."""
    out, pos = [], 0
    while pos < len(raw):
        if pos + 4 > len(raw):
            raise _fail("Truncated BYTES tensor data.")
        (size,) = struct.unpack_from("<I", raw, pos)
        pos += 4
        out.append(raw[pos : pos + size])
        pos += size
    return out


def _tensor(item: Any, binary: bytes, offset: int) -> tuple[Tensor, int]:
    if not isinstance(item, dict):
        raise _fail("Each input is an object with name, shape, datatype and data.")
    name, datatype, shape = item.get("name"), item.get("datatype"), item.get("shape")
    if not isinstance(name, str) or datatype not in DATATYPES:
        raise _fail(f"Input {name!r} needs a name and a datatype of {', '.join(DATATYPES)}.")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise _fail(f"Input '{name}' needs a shape (a list of sizes).", name)
    size = (item.get("parameters") or {}).get("binary_data_size")
    count = int(np.prod(shape)) if shape else 1
    if size is not None:
        if not isinstance(size, int) or offset + size > len(binary):
            raise _fail(f"Input '{name}' claims {size} bytes of binary data that are not there.")
        raw = binary[offset : offset + size]
        offset += size
        if datatype == "BYTES":
            array = np.asarray(_bytes_elements(raw), dtype=object)
        else:
            array = np.frombuffer(raw, dtype=np.dtype(DATATYPES[datatype])).copy()  # writable
    else:
        data = item.get("data")
        if not isinstance(data, list):
            raise _fail(f"Input '{name}' has no data.", name)
        flat = np.asarray(data, dtype=object).reshape(-1).tolist()
        if datatype == "BYTES":
            array = np.asarray(
                [v.encode() if isinstance(v, str) else v for v in flat], dtype=object
            )
        else:
            try:
                array = np.asarray(flat, dtype=np.dtype(DATATYPES[datatype]))
            except (TypeError, ValueError) as exc:
                raise _fail(f"Input '{name}' holds values that are not {datatype}.", name) from exc
    if array.size != count:
        raise _fail(f"Input '{name}' has {array.size} values for shape {shape}.", name)
    return Tensor(name, datatype, shape, array.reshape(shape)), offset


def _request(raw: bytes, header_length: str | None) -> tuple[dict[str, Any], list[Tensor]]:
    from pomona.server.routes.serving import loads

    split = len(raw)
    if header_length and header_length.isascii() and header_length.isdigit():  # not '²'
        split = int(header_length)
    body = loads(raw[:split])
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise _fail("An inference request is an object with a list of 'inputs'.")
    tensors, offset = [], 0
    for item in body["inputs"]:
        tensor, offset = _tensor(item, raw[split:], offset)
        tensors.append(tensor)
    return body, tensors


def _encode(tensors: list[Tensor], binary: set[str]) -> tuple[list[dict[str, Any]], bytes]:
    outputs, blobs = [], []
    for t in tensors:
        out: dict[str, Any] = {"name": t.name, "datatype": t.datatype, "shape": t.shape}
        if t.name in binary:
            if t.datatype == "BYTES":
                raw = b"".join(struct.pack("<I", len(v)) + v for v in t.data.reshape(-1))
            else:
                raw = np.ascontiguousarray(t.data).tobytes()
            out["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
        elif t.datatype == "BYTES":
            out["data"] = [v.decode() for v in t.data.reshape(-1)]
        else:
            out["data"] = t.data.reshape(-1).tolist()
        outputs.append(out)
    return outputs, b"".join(blobs)


class _OipRoute(APIRoute):
    """Errors as the protocol writes them: ``{"error": "<message>"}`` (plus Pomona's code)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except PomonaError as exc:
                body = {"error": exc.message, "code": exc.code, "details": exc.details}
                headers = (
                    {"Retry-After": str(exc.retry_after_s)}
                    if isinstance(exc, OverloadedError)
                    else None
                )
                return Response(
                    orjson.dumps(body),
                    status_code=exc.http_status,
                    media_type="application/json",
                    headers=headers,
                )

        return handle


def oip_routes(host: ServingHost, budget: ImageBudget) -> APIRouter:
    """The OIP routes over ``host``; image tensors are checked against ``budget`` (their
    headers) before any is decoded."""
    router = APIRouter(prefix="/v2", tags=["open inference protocol"], route_class=_OipRoute)

    @router.get("/health/live")
    def live() -> Response:
        return json_response({"live": True})

    @router.get("/health/ready")
    def ready() -> Response:
        ok = host.ready and not host.stopping
        return json_response({"ready": ok}, 200 if ok else 503)

    @router.get("")
    def server_metadata() -> Response:
        return json_response(
            {"name": "pomona", "version": __version__, "extensions": ["binary_tensor_data"]}
        )

    @router.get("/models/{name}")
    def metadata(name: str) -> Response:
        return json_response(model_metadata(host, name))

    @router.get("/models/{name}/versions/{version}")
    def version_metadata(name: str, version: str) -> Response:
        _check_version(host, name, version)
        return json_response(model_metadata(host, name))

    @router.get("/models/{name}/ready")
    def model_ready(name: str) -> Response:
        host.route(name)
        return json_response({"name": name, "ready": True})

    async def infer(name: str, request: Request, version: str | None = None) -> Response:
        from pomona.server.routes.serving import request_id

        if version:
            _check_version(host, name, version)
        body, tensors = _request(await request.body(), request.headers.get(HEADER))
        wanted = [o.get("name") for o in body.get("outputs") or [] if isinstance(o, dict)]
        binary = {
            o["name"]
            for o in body.get("outputs") or []
            if isinstance(o, dict) and (o.get("parameters") or {}).get("binary_data")
        }
        if (body.get("parameters") or {}).get("binary_data_output"):
            binary |= {"predictions", "probabilities"}
        rid = body.get("id") if isinstance(body.get("id"), str) else None
        result = await host.predict(
            name,
            budget.guard(lambda spec: parse_tensors(spec, tensors)),
            request_id=_safe_id(rid) or request_id(request),
        )
        outputs, blob = _encode(output_tensors(result, [w for w in wanted if w]), binary)
        answer = {
            "model_name": name,
            "model_version": result.model.rsplit(":", 1)[1],
            "id": rid or result.request_id,
            "parameters": {
                "request_id": result.request_id,
                "variant": result.variant,
                "model": result.model,
            },
            "outputs": outputs,
        }
        header = orjson.dumps(answer)
        if not blob:
            return Response(header, media_type="application/json")
        return Response(
            header + blob,
            media_type="application/octet-stream",
            headers={"Inference-Header-Content-Length": str(len(header))},
        )

    router.add_api_route("/models/{name}/infer", infer, methods=["POST"], name="oip_infer")
    router.add_api_route(
        "/models/{name}/versions/{version}/infer", infer, methods=["POST"], name="oip_infer_version"
    )
    return router


def _safe_id(rid: str | None) -> str | None:
    from pomona.server.routes.serving import _REQUEST_ID

    return rid if rid and _REQUEST_ID.match(rid) else None


def _check_version(host: ServingHost, name: str, version: str) -> None:
    route = host.route(name)
    served = route.primary.runtime.version
    if served is None or version != str(served.version):
        raise NotFoundError(
            f"Deployment '{name}' serves version {served.version if served else '?'}, "
            f"not {version}.",
            details={"field": "version"},
        )
