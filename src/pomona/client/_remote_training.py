"""Training over the REST API (remote mode): study journals, study summaries, evaluation
reports and promotion gates, through ``RemoteTracking``'s HTTP client and error mapping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from pomona.client._remote import RemoteTracking
from pomona.errors import PomonaError
from pomona.registry.errors import from_remote
from pomona.training.gates import GateReport, PromotionRefusedError
from pomona.training.journal import MAX_READ

__all__ = ["RemoteStudyJournal", "remote_promote"]


class RemoteStudyJournal:
    """``StudyJournalAPI`` on a Pomona server: the study lives in the server's database."""

    def __init__(self, http: RemoteTracking) -> None:
        self._http = http

    def read_entries(self, study: str, start: int = 0, limit: int = MAX_READ) -> list[Any]:
        data = self._http._request(
            "GET",
            f"/studies/{quote(study, safe='')}/journal",
            params={"start": start, "limit": limit},
        )
        entries: list[Any] = data["entries"]
        return entries

    def append_entries(
        self, study: str, entries: Sequence[Mapping[str, Any]], *, read_from: int
    ) -> list[Any]:
        body = {"entries": [dict(e) for e in entries], "read_from": read_from}
        data = self._http._json("POST", f"/studies/{quote(study, safe='')}/journal", body)
        out: list[Any] = data["entries"]
        return out


def remote_promote(
    http: RemoteTracking,
    name: str,
    version: int,
    *,
    to: str,
    force: bool,
    reason: str | None,
    actor: str | None,
    slices: Sequence[str] | None,
    check_only: bool = False,
) -> GateReport:
    """Ask the server to run the gates; a refusal comes back as ``PromotionRefusedError``."""
    body = {
        "to": to,
        "force": force,
        "reason": reason,
        "actor": actor,
        "slices": None if slices is None else list(slices),
        "check_only": check_only,
    }
    path = f"/models/{quote(name, safe='')}/versions/{int(version)}/promote"
    try:
        data = http._json("POST", path, body)
    except PomonaError as exc:
        report = exc.details.get("report")
        if exc.details.get("error") == "PromotionRefusedError" and isinstance(report, dict):
            raise PromotionRefusedError(GateReport.from_dict(report)) from None
        rebuilt = from_remote(exc)
        if rebuilt is exc:
            raise
        raise rebuilt from None
    return GateReport.from_dict(data)
