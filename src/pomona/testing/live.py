"""Serve an ASGI app on 127.0.0.1 from a background thread, for tests and examples."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pomona.testing._servers import free_port

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "serve_in_thread"]

CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium, which browser tests drive through Playwright (``executable_path``)."""
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # no calls out of a closed network
    "--disable-component-update",
    "--disable-sync",
)
"""Headless, as root, with nothing started that would reach beyond this machine."""


@contextmanager
def serve_in_thread(app: Any, port: int | None = None, timeout_s: float = 20) -> Iterator[str]:
    """Run ``app`` with uvicorn until the block ends; yields its base URL."""
    import uvicorn

    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the test server on port {port} did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout_s)
