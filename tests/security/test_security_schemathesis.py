"""Schemathesis over every operation of ``/openapi.json`` on a real ``pomona server``: no
generated request may get a 5xx.

The workspace is filled first (``_populate``: runs, datasets, models, a deployment, a
monitor, features, pipeline runs), so generated requests reach the code behind each route,
not only its 404. For each operation, Hypothesis draws cases from schemathesis' valid and
invalid data, with generated path parameters and with the identifiers of real objects.
Deterministic (``derandomize``), no example database, no shrinking: the budget is
``MAX_EXAMPLES`` cases per operation (about 3 minutes on 2 cores).

The second test replays, one request each, the inputs that answered 500 before they were
validated (found by this fuzzer with a larger budget); each must get a 4xx naming the field.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import requests
from _populate import Known, populate

if TYPE_CHECKING:
    from _server import ServerProcess, StartServer

MAX_EXAMPLES = 60
"""Cases per operation in CI; the exploration that found the bugs ran 200."""
KNOWN_PATHS = 6
"""At most this many combinations of real identifiers per operation."""
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture
def populated(tmp_path: Path, start_server: StartServer) -> tuple[ServerProcess, Known]:
    home = tmp_path / "ws"
    known = populate(home, tmp_path / "sources")
    return start_server(home), known


@pytest.mark.timeout(600)
def test_schemathesis_finds_no_server_error_on_any_operation(
    populated: tuple[ServerProcess, Known],
) -> None:
    server, known = populated
    started = time.monotonic()
    result = fuzz(server.url, known, max_examples=MAX_EXAMPLES)
    took = time.monotonic() - started
    print(
        f"schemathesis: {result.cases} cases over {result.operations} operations "
        f"in {took:.0f} s, {len(result.failures)} server error(s)"
    )
    assert result.operations == result.documented, "some operations were not fuzzed"
    assert result.cases >= result.operations * MAX_EXAMPLES // 2
    assert not result.failures, "generated input got a 5xx:\n" + "\n\n".join(result.failures)
    assert server.alive(), server.log()[-4000:]
    assert "Traceback" not in server.log(), server.log()[-8000:]


class FuzzResult:
    """What a fuzzing pass did: operations documented and fuzzed, cases sent, 5xx seen."""

    def __init__(self, documented: int) -> None:
        self.documented = documented
        self.operations = 0
        self.cases = 0
        self.failures: list[str] = []


def fuzz(url: str, known: Known, *, max_examples: int, seed: int | None = None) -> FuzzResult:
    """Run schemathesis over every operation of ``url``'s OpenAPI document; the same
    cases each time, or other ones for another ``seed`` (to explore with a larger budget)."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seeded

    document = httpx.get(f"{url}/openapi.json", timeout=30).json()
    result = FuzzResult(
        sum(1 for item in document["paths"].values() for method in item if method in HTTP_METHODS)
    )
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = sorted((op.ok() for op in schema.get_all_operations()), key=_order)
    with requests.Session() as session:  # one connection, closed at the end
        for operation in operations:
            result.operations += 1

            @settings(
                max_examples=max_examples,
                derandomize=seed is None,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=_strategy(operation, known))
            def check(case: Any) -> None:
                response = case.call(base_url=url, session=session, timeout=60)
                result.cases += 1
                if response.status_code >= 500:
                    result.failures.append(_describe(case, response))

            (check if seed is None else seeded(seed)(check))()
    return result


def _order(operation: Any) -> tuple[int, str, str]:
    """Writes first, so reads meet what they stored; deletes last, so the objects made for
    the fuzzer are there until then."""
    method = operation.method.upper()
    rank = {"POST": 0, "PUT": 0, "PATCH": 0, "DELETE": 2}.get(method, 1)
    return rank, operation.path, method


def _strategy(operation: Any, known: Known) -> Any:
    """Valid and invalid cases, with generated path parameters or real identifiers."""
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    parts = [operation.as_strategy(generation_mode=mode) for mode in modes]
    for params in _known_path_parameters(operation.path, known):
        parts += [
            operation.as_strategy(generation_mode=mode, path_parameters=params) for mode in modes
        ]
    return st.one_of(parts)


def _known_path_parameters(path: str, known: Known) -> list[dict[str, str]]:
    """Combinations of real identifiers for the ``{parameters}`` of ``path``."""
    names: list[str] = []
    choices: list[Sequence[str]] = []
    segments = path.strip("/").split("/")
    for before, segment in itertools.pairwise(["", *segments]):
        if segment.startswith("{"):
            values = known.values.get(before, [])
            if not values:
                return []
            names.append(segment.strip("{}").split(":")[0])
            choices.append(values)
    if not names:
        return []
    combos: Iterator[tuple[str, ...]] = itertools.product(*choices)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.islice(combos, KNOWN_PATHS)]


def _describe(case: Any, response: Any) -> str:
    from schemathesis.core import NotSet

    body = None if isinstance(case.body, NotSet) else case.body
    return (
        f"{case.method} {case.formatted_path} query={case.query!r} body={_short(body)}\n"
        f"  -> {response.status_code}: {_short(response.content.decode(errors='replace'))}"
    )


def _short(value: object, limit: int = 600) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + "…"


BIG = 10**30
"""An integer beyond 64 bits: valid JSON, more than any integer column holds."""
REPLAYS = [
    # (id, method, path, json body or None, expected status, field the 4xx names)
    ("dead-runs-timeout-overflow", "POST", "/api/v1/pipelines/dead-runs",
     {"timeout_s": 1.4737597548100879e308}, 422, "timeout_s"),
    ("dead-runs-timeout-cutoff-overflow", "POST", "/api/v1/pipelines/dead-runs",
     {"timeout_s": 2.27e16}, 422, "timeout_s"),
    ("journal-start-overflow", "GET", f"/api/v1/studies/transactions-forest/journal?start={BIG}",
     None, 422, "start"),
    ("journal-read-from-overflow", "POST", "/api/v1/studies/transactions-forest/journal",
     {"entries": [{"op_code": 0}], "read_from": BIG}, 422, "read_from"),
    ("view-version-overflow", "GET", f"/api/v1/features/views/sizes?version={BIG}", None, 422,
     "version"),
    ("training-dataset-version-overflow", "GET",
     f"/api/v1/features/training-datasets/apple_sizes?version={BIG}", None, 422, "version"),
    ("training-data-version-overflow", "GET",
     f"/api/v1/features/training-datasets/apple_sizes/data?version={BIG}", None, 422, "version"),
    ("gate-reports-version-overflow", "GET", f"/api/v1/models/fraud/gate-reports?version={BIG}",
     None, 422, "version"),
    ("model-version-overflow", "GET", f"/api/v1/models/fraud/versions/{BIG}", None, 422,
     "version"),
    ("promote-version-overflow", "POST", f"/api/v1/models/fraud/versions/{BIG}/promote",
     {"check_only": True}, 422, "version"),
    ("alias-version-overflow", "PUT", "/api/v1/models/fraud/aliases/staging",
     {"version": BIG, "reason": "fuzz"}, 422, "version"),
    ("dataset-version-superscript", "POST", "/api/v1/datasets/transactions/versions/²/relabel",
     {"labels": {}}, 422, "version"),
    ("dataset-version-superscript-get", "GET", "/api/v1/datasets/transactions/versions/²", None,
     422, "version"),
    ("model-version-superscript", "GET", "/api/v1/models/fraud/versions/²", None, 422,
     "version"),
    ("monitor-reference-superscript", "POST", "/api/v1/monitors",
     {"deployment": "fraud-prod", "name": "sup", "reference": "window:²"}, 422, "reference"),
    ("monitor-threshold-unknown-key", "POST", "/api/v1/monitors",
     {"deployment": "fraud-prod", "name": "odd", "thresholds": {"9²PÔ2~": []}}, 422,
     "thresholds.9²PÔ2~"),
    ("monitor-threshold-out-of-range", "POST", "/api/v1/monitors",
     {"deployment": "fraud-prod", "name": "odd", "thresholds": {"alpha": -6e16}}, 422,
     "thresholds.alpha"),
    ("monitor-window-overflow", "POST", "/api/v1/monitors",
     {"deployment": "fraud-prod", "name": "long", "window": 1e30}, 422, "window"),
    ("silence-duration-overflow", "POST", "/api/v1/alerts/silences",
     {"deployment": "fraud-prod", "duration": 4.1981606422783256e16}, 422, "duration"),
    ("deployment-model-version-overflow", "POST", "/api/v1/deployments",
     {"name": "big", "model": f"fraud:{BIG}"}, 422, "ref"),
    ("deployment-model-superscript", "POST", "/api/v1/deployments",
     {"name": "sup", "model": "fraud:²"}, 422, "ref"),
]  # fmt: skip
HEADER_REPLAYS = [
    # '²' is the byte 0xb2 in a latin-1 header value: str.isdigit() is true, int() fails
    ("oip-header-length-superscript", "/v2/models/fraud-prod/infer",
     {"Inference-Header-Content-Length": b"\xb2"}, 422, "inputs"),
]  # fmt: skip


def test_inputs_that_answered_500_get_a_4xx_naming_the_field(
    populated: tuple[ServerProcess, Known],
) -> None:
    server, _ = populated
    wrong: list[str] = []
    # a new connection per request: uvicorn drops the connection of a request that failed
    with server.client(headers={"Connection": "close"}) as client:
        for name, method, path, body, status, field in REPLAYS:
            wrong += _refused(name, client.request(method, path, json=body), status, field)
        for name, path, headers, status, field in HEADER_REPLAYS:
            response = client.post(path, json={"inputs": []}, headers=headers)
            wrong += _refused(name, response, status, field)
        # the reads that meet what those requests could have stored still answer
        for path in ("/api/v1/monitors", "/api/v1/alerts", "/api/v1/alerts/silences"):
            if (status := client.get(path).status_code) != 200:
                wrong.append(f"GET {path} after the replays: {status}")
        if (status := client.post("/api/v1/monitors/run", json={}).status_code) != 200:
            wrong.append(f"POST /api/v1/monitors/run after the replays: {status}")
        wrong += _big_integers_round_trip(client)
    assert not wrong, "\n".join(wrong)
    assert "Traceback" not in server.log(), server.log()[-8000:]


def _refused(name: str, response: httpx.Response, status: int, field: str) -> list[str]:
    """``[]`` when ``response`` has ``status`` and names ``field``; else what it was."""
    body = response.json() if response.content else {}
    error = body["error"] if isinstance(body.get("error"), dict) else body  # OIP: flat
    if response.status_code == status and error.get("details", {}).get("field") == field:
        return []
    return [f"{name}: {response.status_code} {response.text[:300]}"]


def _big_integers_round_trip(client: httpx.Client) -> list[str]:
    """JSON has no integer limit: an event payload or a journal entry the server accepted
    comes back as sent (orjson, which writes the answers, stops at 64 bits)."""
    payload = {"big": BIG, "negative": -BIG, "nested": [{"n": 2**64}], "fine": 7}
    entries = [{"op_code": 0, "n": BIG}]
    journal = "/api/v1/studies/big-numbers/journal"
    checks: list[tuple[str, httpx.Response, Callable[[Any], Any], object]] = [
        ("emit", client.post("/api/v1/pipelines/events", json={"type": "big", "payload": payload}),
         lambda body: body["payload"], payload),
        ("events", client.get("/api/v1/pipelines/events", params={"type": "big"}),
         lambda body: body["items"][0]["payload"], payload),
        ("append", client.post(journal, json={"entries": entries, "read_from": 0}),
         lambda body: body["entries"], entries),
        ("read", client.get(journal), lambda body: body["entries"], entries),
    ]  # fmt: skip
    return [
        f"{name}: {response.status_code} {response.text[:300]}"
        for name, response, pick, expected in checks
        if response.status_code >= 300 or pick(response.json()) != expected
    ]
