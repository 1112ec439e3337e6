"""One sensor tick as the tests and benchmarks/catalog_sensors.py evaluate it.

The evaluation function is called with a context on a real instance, then its partition
requests and asset events are applied the way the sensor daemon applies them (without the
daemon's one existence query per key), so the next tick sees what a deployed one would.
"""

from __future__ import annotations

from typing import Any

import dagster as dg


def code_location() -> dg.Definitions:
    """The real Definitions, loaded on first use (tests must always load the real code location)."""
    from biomarker_assets.definitions import defs

    return defs


def sensor_resources(**overrides: Any) -> dict[str, Any]:
    """The resources bound in ``defs/resources.py``, some replaced (e.g. a smaller page or tick)."""
    return {**(code_location().resources or {}), **overrides}


def apply_result(instance: dg.DagsterInstance, result: dg.SensorResult) -> None:
    """The tick's partition additions and deletions, then its asset events, stored on the instance."""
    for request in result.dynamic_partitions_requests or []:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    for event in result.asset_events or []:
        instance.report_runless_asset_event(event)


def tick(
    sensor: dg.SensorDefinition,
    instance: dg.DagsterInstance,
    cursor: str | None = None,
    resources: dict[str, Any] | None = None,
) -> tuple[dg.SensorResult | dg.SkipReason, list[dg.RunRequest], str | None]:
    """One evaluation, applied: (result, run requests, the cursor the daemon would store)."""
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=code_location(), resources=resources or sensor_resources()
    )
    result = sensor(context)
    if isinstance(result, dg.SkipReason):
        return result, [], cursor
    assert isinstance(result, dg.SensorResult), f"{sensor.name} returns a SensorResult or a SkipReason"
    apply_result(instance, result)
    return result, list(result.run_requests or []), result.cursor


def requested_partitions(requests: list[dg.RunRequest]) -> list[str]:
    """The partition keys of a tick's run requests (every file request names its partition)."""
    keys = [r.partition_key for r in requests]
    assert all(k is not None for k in keys), f"a run request without a partition: {requests}"
    return [k for k in keys if k is not None]
