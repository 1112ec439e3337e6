"""The per-study file catalog (the Step Functions "Catalog" workflow)."""

import dagster as dg

from biomarker_assets.defs.partitions import FILES_PARTITIONS, studies
from biomarker_assets.lib.catalog.scanning import catalog_uri, chunks, list_study, write_catalog
from biomarker_assets.platform.study_files import load_study_config
from biomarker_assets.resources.notifier import Kind, Notifier
from biomarker_assets.resources.study_store import BucketMissing, StudyStore


@dg.asset(group_name="catalog", partitions_def=studies, deps=["study_configs"], kinds={"s3", "parquet"})
def study_catalog(
    context: dg.AssetExecutionContext, study_store: StudyStore, notifier: Notifier
) -> dg.MaterializeResult:
    """Every file under the study's prefixes that a rule matches, as a Parquet table; one partition per file."""
    study = context.partition_key
    loaded = load_study_config(study, study_store, notifier)
    config = loaded.config
    for bucket in dict.fromkeys([config.bucket, config.output_bucket]):
        try:
            study_store.require_bucket(bucket)
        except BucketMissing as exc:
            notifier.send(Kind.MISSING_BUCKET, study, f"s3://{bucket}", str(exc))
            raise dg.Failure(description=f"study {study!r}: {exc}", allow_retries=False) from None

    entries, listed = list_study(config, study_store)
    write_catalog(study_store, loaded, entries)
    by_kind: dict[str, list[str]] = {"data": [], "metadata": []}
    for entry in entries.values():
        by_kind[entry.kind].append(entry.partition_key)
    registered = {}
    for kind, partitions_def in FILES_PARTITIONS.items():
        known = set(context.instance.get_dynamic_partitions(partitions_def.name))
        new = [k for k in by_kind[kind] if k not in known]
        for chunk in chunks(new):
            context.instance.add_dynamic_partitions(partitions_def.name, chunk)
        registered[kind] = len(new)
    unmatched_names = sum(1 for e in entries.values() if e.kind == "data" and e.filename_fields is None)
    context.log.info(
        f"study {study}: listed {listed} object(s), cataloged {len(entries)} "
        f"({len(by_kind['data'])} data, {len(by_kind['metadata'])} metadata), new partitions {registered}"
    )
    return dg.MaterializeResult(
        metadata={
            "catalog": dg.MetadataValue.path(catalog_uri(loaded)),
            "objects_listed": listed,
            "data_files": len(by_kind["data"]),
            "metadata_files": len(by_kind["metadata"]),
            "new_data_partitions": registered["data"],
            "new_metadata_partitions": registered["metadata"],
            "file_names_not_matching_pattern": unmatched_names,
            "config_digest": loaded.digest,
        }
    )
