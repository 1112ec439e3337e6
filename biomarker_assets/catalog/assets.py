"""Study configs and the per-study file catalog (the Step Functions "Catalog" workflow)."""


import io
import json

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq

from biomarker_assets.catalog.matching import classify, filename_fields
from biomarker_assets.config.loading import ConfigError, ConfigNotFound, LoadedConfig
from biomarker_assets.partition_keys import file_partition_key, is_valid_study_id
from biomarker_assets.partitions import data_files, metadata_files, studies
from biomarker_assets.report import markdown_table
from biomarker_assets.resources.notifier import Kind, Notifier
from biomarker_assets.resources.study_store import BucketMissing, StudyStore

CATALOG_FOLDER = "_catalog"

CATALOG_SCHEMA = pa.schema(
    [
        ("partition_key", pa.string()),
        ("kind", pa.string()),
        ("rule_index", pa.int32()),
        ("pipeline", pa.string()),
        ("bucket", pa.string()),
        ("key", pa.string()),
        ("size", pa.int64()),
        ("etag", pa.string()),
        ("last_modified", pa.timestamp("ms", tz="UTC")),
        ("subject", pa.string()),
        ("filename_fields", pa.string()),  # JSON object; null when the name does not match
    ]
)


def catalog_key(loaded: LoadedConfig) -> str:
    return f"{loaded.config.results_prefix}{CATALOG_FOLDER}/catalog.parquet"


def load_study_config(study: str, store: StudyStore, notifier: Notifier) -> LoadedConfig:
    """The study's config, or an SQS message and a failure naming what is wrong."""
    uri = f"s3://{store.config_bucket}/{store.config_prefix}{study}.yaml"
    try:
        return store.load_config(study)
    except ConfigNotFound as exc:
        notifier.send(Kind.MISSING_CONFIG, study, uri, str(exc))
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    except ConfigError as exc:
        notifier.send(Kind.INVALID_CONFIG, study, uri, f"{len(exc.errors)} error(s) in the study config", errors=exc.errors)
        raise dg.Failure(description=str(exc), allow_retries=False) from None


@dg.asset(group_name="config", kinds={"s3", "yaml"})
def study_configs(
    context: dg.AssetExecutionContext, study_store: StudyStore, notifier: Notifier
) -> dg.MaterializeResult:
    """Every study config in the config bucket, validated; each valid one becomes a study partition."""
    rows, valid = [], []
    for study, key in study_store.config_studies():
        uri = f"s3://{study_store.config_bucket}/{key}"
        if not is_valid_study_id(study):
            reason = f"config file name {key!r} is not a valid study id (lowercase letters, digits, - and _)"
            notifier.send(Kind.INVALID_CONFIG, None, uri, reason)
            rows.append((study, "invalid", reason))
            continue
        try:
            loaded = study_store.load_config(study)
        except ConfigError as exc:
            notifier.send(Kind.INVALID_CONFIG, study, uri, f"{len(exc.errors)} error(s) in the study config", errors=exc.errors)
            context.log.error(str(exc))
            rows.append((study, "invalid", "; ".join(exc.errors)))
            continue
        valid.append(study)
        rows.append((study, "valid", loaded.digest[:12]))
    known = set(context.instance.get_dynamic_partitions(studies.name))
    new = [s for s in valid if s not in known]
    if new:
        context.instance.add_dynamic_partitions(studies.name, new)
    context.log.info(f"{len(valid)} valid study config(s), {len(rows) - len(valid)} invalid; registered {new}")
    table = markdown_table([{"study": s, "status": st, "digest / errors": d} for s, st, d in rows])
    return dg.MaterializeResult(
        metadata={"studies": dg.MetadataValue.md(table), "valid": len(valid), "invalid": len(rows) - len(valid)}
    )


@dg.asset(group_name="catalog", partitions_def=studies, deps=[study_configs], kinds={"s3", "parquet"})
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

    columns: dict[str, list] = {name: [] for name in CATALOG_SCHEMA.names}
    by_kind: dict[str, list[str]] = {"data": [], "metadata": []}
    listed = 0
    for prefix in config.prefixes:
        for obj in study_store.list_objects(config.bucket, prefix):
            listed += 1
            match = classify(config, obj["Key"])
            if match is None:
                continue
            fields = filename_fields(config, obj["Key"]) if match.kind == "data" else None
            partition_key = file_partition_key(study, obj["Key"])
            by_kind[match.kind].append(partition_key)
            for name, value in (
                ("partition_key", partition_key),
                ("kind", match.kind),
                ("rule_index", match.rule_index),
                ("pipeline", getattr(match.rule, "pipeline", None)),
                ("bucket", config.bucket),
                ("key", obj["Key"]),
                ("size", obj["Size"]),
                ("etag", obj["ETag"].strip('"')),
                ("last_modified", obj["LastModified"]),
                ("subject", (fields or {}).get("subject")),
                ("filename_fields", json.dumps(fields, sort_keys=True) if fields is not None else None),
            ):
                columns[name].append(value)
    table = pa.table(columns, schema=CATALOG_SCHEMA)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    study_store.put_bytes(buffer.getvalue(), config.output_bucket, catalog_key(loaded), "application/vnd.apache.parquet")

    registered = {}
    for partitions_def, kind in ((data_files, "data"), (metadata_files, "metadata")):
        known = set(context.instance.get_dynamic_partitions(partitions_def.name))
        new = [k for k in by_kind[kind] if k not in known]
        if new:
            context.instance.add_dynamic_partitions(partitions_def.name, new)
        registered[kind] = len(new)
    unmatched_names = sum(1 for v in columns["filename_fields"] if v is None) - len(by_kind["metadata"])
    context.log.info(
        f"study {study}: listed {listed} object(s), cataloged {table.num_rows} "
        f"({len(by_kind['data'])} data, {len(by_kind['metadata'])} metadata), new partitions {registered}"
    )
    return dg.MaterializeResult(
        metadata={
            "catalog": dg.MetadataValue.path(f"s3://{config.output_bucket}/{catalog_key(loaded)}"),
            "objects_listed": listed,
            "data_files": len(by_kind["data"]),
            "metadata_files": len(by_kind["metadata"]),
            "new_data_partitions": registered["data"],
            "new_metadata_partitions": registered["metadata"],
            "file_names_not_matching_pattern": unmatched_names,
            "config_digest": loaded.digest,
        }
    )
