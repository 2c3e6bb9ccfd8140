"""Models for serving tests and benchmarks: breast-cancer, apple photos, and misbehaving nets.

``TableNet`` is a PyTorch module under ``pomona.`` (so the torch flavor loads it without
``trust``) whose ``mode`` makes it fail, slow or biased: the bad challengers of rollout
tests. Imports torch and scikit-learn on use.
"""

from __future__ import annotations

import io
import time
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pomona.client.workspace import Workspace
    from pomona.registry.records import ModelVersion

__all__ = [
    "SENTINEL",
    "LoadResult",
    "TableNet",
    "apple_photos",
    "apple_png",
    "cancer_frame",
    "hammer",
    "register_apple_model",
    "register_cancer_model",
    "register_table_net",
]

SENTINEL = -12345.0
"""A ``TableNet`` in mode ``fail_on_sentinel`` raises on rows whose first value is this."""


def cancer_frame() -> tuple[Any, Any]:
    """breast_cancer as a DataFrame with identifier-like column names, and its target."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X.columns = [c.replace(" ", "_") for c in X.columns]
    return X, y


def register_cancer_model(ws: Workspace, name: str = "cancer", *, c: float = 1.0) -> ModelVersion:
    """A scaled logistic regression on breast_cancer (30 float64 columns -> 0/1)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = cancer_frame()
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000)).fit(X, y)
    return ws.models.register(name, model, input_example=X.iloc[:5])


def _torch() -> Any:
    import torch

    return torch


def _module_base() -> Any:
    return _torch().nn.Module


class TableNet(_module_base()):  # type: ignore[misc]
    """A linear classifier over ``n_features`` float32 inputs with switchable behaviour.

    Modes: ``ok``; ``fail`` (every call raises); ``fail_on_sentinel`` (raises on a row whose
    first value is ``SENTINEL``); ``slow`` (sleeps ``delay_s`` per call); ``constant``
    (always predicts class ``0``: a diverging challenger).
    """

    def __init__(
        self,
        n_features: int = 30,
        classes: list[Any] | None = None,
        mode: str = "ok",
        delay_s: float = 0.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        torch = _torch()
        self.init_kwargs: dict[str, Any] = {
            "n_features": n_features,
            "classes": classes or [0, 1],
            "mode": mode,
            "delay_s": delay_s,
            "seed": seed,
        }
        generator = torch.Generator().manual_seed(seed)
        self.linear = torch.nn.Linear(n_features, len(self.init_kwargs["classes"]))
        with torch.no_grad():  # weights AND bias from the seed: equal seeds, equal models
            self.linear.weight.copy_(torch.randn(self.linear.weight.shape, generator=generator))
            self.linear.bias.copy_(torch.randn(self.linear.bias.shape, generator=generator))

    @property
    def classes_(self) -> np.ndarray[Any, Any]:
        return np.asarray(self.init_kwargs["classes"])

    def forward(self, x: Any) -> Any:
        mode = self.init_kwargs["mode"]
        if mode == "fail":
            raise RuntimeError("this model always fails")
        if mode == "fail_on_sentinel" and bool((x[:, 0] == SENTINEL).any()):
            raise ValueError("the model cannot handle the sentinel value")
        if mode == "slow":
            time.sleep(self.init_kwargs["delay_s"])
        logits = self.linear(x)
        if mode == "constant":
            logits = logits * 0 + _torch().tensor([10.0] + [0.0] * (logits.shape[1] - 1))
        return logits


def register_table_net(
    ws: Workspace, name: str, *, mode: str = "ok", delay_s: float = 0.0, n_features: int = 4
) -> ModelVersion:
    """Register a ``TableNet`` taking ``(n, n_features)`` float32 instances."""
    module = TableNet(n_features=n_features, mode="ok", delay_s=delay_s)
    saved = {**module.init_kwargs, "mode": mode}  # behaves only once served
    example = np.linspace(0, 1, 5 * n_features, dtype=np.float32).reshape(5, n_features)
    return ws.models.register(name, module, input_example=example, options={"init_kwargs": saved})


def apple_photos(n: int, seed: int = 0) -> tuple[np.ndarray[Any, Any], list[str]]:
    """``n`` generated 64x64 apple photos and their grades."""
    from pomona.examples.apples import generate_apples

    images, metas = generate_apples(n, seed=seed)
    return images, [m.grade for m in metas]


def apple_png(seed: int = 0) -> bytes:
    """One generated apple photo as PNG bytes."""
    from PIL import Image

    images, _ = apple_photos(1, seed=seed)
    buf = io.BytesIO()
    Image.fromarray(images[0]).save(buf, format="PNG")
    return buf.getvalue()


def register_apple_model(
    ws: Workspace, name: str = "apples", *, n: int = 96, epochs: int = 2
) -> ModelVersion:
    """A small CNN (``TorchClassifier``, apple_cnn) on generated photos: trained for
    ``epochs`` on ``n`` photos, or left untrained (instant) with ``epochs=0``."""
    from pomona.examples.apples import GRADES
    from pomona.training._torch import TorchClassifier

    images, grades = apple_photos(max(n, 4), seed=1)
    if epochs == 0:
        model = TorchClassifier(
            arch="apple_cnn", width=4, classes=sorted(GRADES), in_features=3, device="cpu"
        )
    else:
        model = TorchClassifier(
            arch="apple_cnn", width=8, epochs=epochs, batch_size=32, device="cpu", patience=epochs
        ).fit(images, grades)
    return ws.models.register(name, model, input_example=images[:4])


class LoadResult:
    """What a load run saw: status counts, latencies (ms), request ids answered 200."""

    def __init__(self) -> None:
        from collections import Counter

        self.statuses: Counter[int] = Counter()
        self.latencies_ms: list[float] = []
        self.request_ids: list[str] = []
        self.errors: list[str] = []
        self.elapsed_s = 0.0

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)


async def hammer(
    url: str,
    body: bytes,
    *,
    connections: int,
    duration_s: float,
    max_requests: int = 1_000_000,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """POST ``body`` to ``url`` from ``connections`` concurrent connections for
    ``duration_s`` seconds (and at most ``max_requests`` requests): bounded, loopback only."""
    import asyncio

    import httpx

    if not url.startswith(("http://127.0.0.1", "http://localhost")):
        raise ValueError("load runs target this machine only")
    result = LoadResult()
    sent = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    start = time.perf_counter()
    deadline = start + duration_s
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal sent
            while time.perf_counter() < deadline and sent < max_requests:
                sent += 1
                t0 = time.perf_counter()
                try:
                    response = await client.post(url, content=body, headers=hdrs)
                except httpx.HTTPError as exc:
                    result.errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                result.latencies_ms.append((time.perf_counter() - t0) * 1000)
                result.statuses[response.status_code] += 1
                if response.status_code == 200:
                    result.request_ids.append(response.headers.get("x-request-id", ""))

        await asyncio.gather(*(worker() for _ in range(connections)))
    result.elapsed_s = time.perf_counter() - start
    return result
