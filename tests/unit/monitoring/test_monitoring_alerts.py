"""Alerts: no drift → no alert; a shift fires one that resolves when the shift ends;
for-durations, deduplication, grouping, silences, acknowledgements, late-label accuracy
alerts, and the retraining guard (cooldown, one in flight, one winner of a race)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest

from pomona.artifacts._factory import open_artifact_store
from pomona.metadata import open_metadata_store
from pomona.monitoring import AlertNotFoundError, AlertRule, AlertService, Log, MonitoringService
from pomona.pipelines import SqlPipelineStore
from pomona.pipelines._schedules import new_schedule
from pomona.testing.monitoring import StaticReferences, reference_frame, write_feedback


def _alerts(env: Any, state: str | None = None) -> list[Any]:
    return list(AlertService(env.metadata).list(state=state))


def test_traffic_like_the_reference_raises_no_alert(env: Any) -> None:
    for i in range(4):
        env.hour(i)
    env.service.create("demo", window="1h", min_accuracy=0.7)
    results = env.service.run("demo", now=env.after(3))
    assert len(results[0].computed) == 4 and results[0].alerts == ()
    assert _alerts(env) == [] and env.sink.events == []


def test_a_shift_fires_one_alert_that_resolves_when_the_shift_ends(
    env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    env.service.create("demo", window="1h", notify=[Log()])
    env.hour(0)
    env.hour(1, shift=1.0)
    with caplog.at_level(logging.INFO, logger="pomona.alerts"):
        fired = env.service.run("demo", now=env.after(1))[0].alerts
        assert [(a.rule, a.state) for a in fired] == [("data_drift", "firing")]
        for _ in range(3):  # the same window judged again: no new alert, no new message
            assert env.service.run("demo", now=env.after(1))[0].alerts == ()
        env.hour(2, shift=1.0)
        assert env.service.run("demo", now=env.after(2))[0].alerts == ()  # still the same one
        env.hour(3)
        resolved = env.service.run("demo", now=env.after(3))[0].alerts
    assert [(a.alert_id, a.state) for a in resolved] == [(fired[0].alert_id, "resolved")]
    messages = [r.getMessage() for r in caplog.records if r.name == "pomona.alerts"]
    assert len([m for m in messages if "[FIRING]" in m]) == 1
    assert len([m for m in messages if "[RESOLVED]" in m]) == 1
    (alert,) = _alerts(env)
    assert alert.resolved_at == env.after(3) and alert.window_start_at == env.start(2)
    assert alert.details["notifications"][0]["ok"] is True


def test_for_duration_keeps_an_alert_pending_until_it_held(env: Any) -> None:
    rule = AlertRule("drift_2h", "dataset_drift", ">=", 1, for_s="2h")
    env.service.create("demo", window="1h", rules=[rule])
    env.hour(0, shift=1.0)
    pending = env.service.run("demo", now=env.after(0))[0].alerts
    assert [a.state for a in pending] == ["pending"]
    env.hour(1, shift=1.0)
    firing = env.service.run("demo", now=env.after(1))[0].alerts
    assert [(a.alert_id, a.state) for a in firing] == [(pending[0].alert_id, "firing")]
    assert firing[0].pending_at == env.start(0)


def test_a_pending_alert_that_recovers_never_notifies(env: Any) -> None:
    rule = AlertRule("drift_2h", "dataset_drift", ">=", 1, for_s="2h")
    env.service.create("demo", window="1h", rules=[rule], notify=[Log()])
    env.hour(0, shift=1.0)
    env.hour(1)
    env.service.run("demo", now=env.after(1))
    (alert,) = _alerts(env)
    assert (alert.state, alert.fired_at) == ("resolved", None)
    assert "notifications" not in alert.details


def test_feature_rules_group_into_one_alert_or_split_per_feature(env: Any) -> None:
    grouped = AlertRule("drifting", "drifted", ">=", 1, feature="*")
    split = AlertRule("drifting_each", "drifted", ">=", 1, feature="*", per_feature=True)
    env.service.create("demo", window="1h", rules=[grouped, split])
    env.hour(0, shift=1.0)
    env.service.run("demo", now=env.after(0))
    by_rule: dict[str, list[Any]] = {}
    for a in _alerts(env, "firing"):
        by_rule.setdefault(a.rule, []).append(a)
    assert len(by_rule["drifting"]) == 1
    assert sorted(by_rule["drifting"][0].details["features"]) == ["colour", "x"]
    assert sorted(a.group for a in by_rule["drifting_each"]) == ["colour", "x"]


def test_silences_hold_back_notifications_and_retraining(env: Any, caplog: Any) -> None:
    alerts = AlertService(env.metadata, default_actor="ops")
    silence = alerts.silence(deployment="demo", rule="data_drift", duration="1d", comment="known")
    assert [s.silence_id for s in alerts.silences()] == [silence.silence_id]
    env.service.create("demo", window="1h", notify=[Log()])
    env.hour(0, shift=1.0)
    env.hour(1, shift=1.0)
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    with caplog.at_level(logging.INFO, logger="pomona.alerts"):
        env.service.run("demo", now=now)
    (alert,) = _alerts(env, "firing")
    assert alert.silenced and "retrain" not in alert.details
    assert not [r for r in caplog.records if "[FIRING]" in r.getMessage()]
    assert env.sink.events == []
    alerts.expire_silence(silence.silence_id)
    assert alerts.silences() == [] and len(alerts.silences(active=False)) == 1


def test_acknowledging_records_who_and_why(env: Any) -> None:
    env.service.create("demo", window="1h")
    env.hour(0, shift=1.0)
    env.service.run("demo", now=env.after(0))
    (alert,) = _alerts(env, "firing")
    acked = AlertService(env.metadata).ack(alert.alert_id, by="farmer", comment="new variety")
    assert (acked.acked_by, acked.ack_comment, acked.state) == ("farmer", "new variety", "firing")
    with pytest.raises(AlertNotFoundError):
        AlertService(env.metadata).ack("0" * 32)


def test_late_labels_fire_an_accuracy_alert_that_asks_for_retraining(env: Any) -> None:
    env.service.create("demo", window="1h", min_accuracy=0.7)
    rows = env.hour(0, label_noise=0.45)  # inputs unchanged: only the labels tell
    assert env.service.run("demo", now=env.after(0))[0].alerts == ()
    write_feedback(env.metadata, "demo", dict(zip(rows["request_id"], rows["_truth"], strict=True)))
    result = env.service.run("demo", now=env.after(30))[0]
    assert result.relabelled == (env.start(0),)
    (alert,) = result.alerts
    assert (alert.rule, alert.state, alert.severity) == ("accuracy", "firing", "critical")
    assert alert.details["retrain"] == {"requested": True, "model": "demo", "event_id": 1}
    (event,) = env.sink.events
    assert event[0] == "alert.fired" and event[1]["rule"] == "accuracy"


def test_the_cooldown_stops_a_retraining_storm(env: Any) -> None:
    env.service.create("demo", window="1h", cooldown="6h")
    for i, shift in enumerate([1.0, 0.0, 1.0, 0.0]):
        env.hour(i, shift=shift)
        env.service.run("demo", now=env.after(i))
    fired = sorted((a for a in _alerts(env) if a.fired_at is not None), key=lambda a: a.pending_at)
    assert len(fired) == 2
    assert fired[0].details["retrain"]["requested"] is True
    assert fired[1].details["retrain"]["requested"] is False
    assert "cooldown until" in fired[1].details["retrain"]["reason"]
    assert len(env.sink.events) == 1
    env.hour(8, shift=1.0)  # past the cooldown
    env.service.run("demo", now=env.after(8))
    assert len(env.sink.events) == 2
    decisions = [d["decision"] for d in reversed(env.service.retrains("demo"))]
    assert decisions == ["emitted", "refused", "emitted"]


def test_no_second_retraining_while_the_first_is_in_flight(tmp_path: Path) -> None:
    metadata = open_metadata_store("memory://")
    metadata.initialize()
    artifacts = open_artifact_store("memory://")
    pipelines = SqlPipelineStore(metadata)
    pipelines.create_schedule(
        new_schedule(
            "retrain",
            "pipelines.py:retrain",
            cron=None,
            interval_s=None,
            on_event="alert.fired",
            event_filter={},
            params={},
            missed="once",
            executor=None,
        )
    )
    service = MonitoringService(
        metadata,
        artifacts,
        references=StaticReferences(reference_frame()),
        events=pipelines,
        cache_dir=tmp_path,
    )
    from pomona.testing.monitoring import synthetic_log, write_log

    env_t0 = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000
    from datetime import UTC, datetime

    def hour(i: int, shift: float) -> None:
        rows = synthetic_log(
            2000, env_t0 + i * 3_600_000, env_t0 + (i + 1) * 3_600_000, shift=shift, seed=i
        )
        write_log(metadata, artifacts, rows)
        service.run(
            "demo", now=datetime.fromtimestamp((env_t0 + (i + 1) * 3_600_000 + 60_000) / 1000, UTC)
        )

    service.create("demo", window="1h", cooldown="1m")
    hour(0, 1.0)  # fires: event 1, its delivery pending
    hour(1, 0.0)
    hour(2, 1.0)  # fires again past the cooldown, but the first retraining has not run
    decisions = service.retrains("demo")
    assert [d["decision"] for d in reversed(decisions)] == ["emitted", "refused"]
    assert "in flight" in decisions[0]["reason"]
    (claimed,) = pipelines.claim_deliveries("worker", 60)
    pipelines.finish_delivery(claimed.event.event_id, claimed.schedule.schedule_id, "run1")
    hour(3, 0.0)
    hour(4, 1.0)  # the first has finished: this one may go
    assert [e.type for e in pipelines.list_events()] == ["alert.fired", "alert.fired"]
    service.close()
    metadata.close()


def test_two_processes_deciding_at_once_start_one_retraining(tmp_path: Path) -> None:
    from pomona.monitoring._alert_store import AlertStore

    url = f"sqlite:///{tmp_path / 'guard.db'}"
    with open_metadata_store(url) as store:
        store.initialize()
    winners: list[bool] = []
    barrier = threading.Barrier(4)

    def decide(i: int) -> None:
        with open_metadata_store(url) as store:
            barrier.wait()
            winners.append(
                AlertStore(store).decide_retrain("apples", "m", f"a{i}", 10**9, 3600_000).emit
            )

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(winners) == [False, False, False, True]
