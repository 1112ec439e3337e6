"""Study configs: every config in the config bucket validated; each valid one becomes a study partition."""

import dagster as dg

from biomarker_assets.defs.partitions import studies
from biomarker_assets.lib.partition_keys import is_valid_study_id
from biomarker_assets.lib.study_config.loading import ConfigError
from biomarker_assets.platform.status import markdown_table
from biomarker_assets.resources.notifier import Kind, Notifier
from biomarker_assets.resources.study_store import StudyStore


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
            notifier.send(
                Kind.INVALID_CONFIG, study, uri, f"{len(exc.errors)} error(s) in the study config", errors=exc.errors
            )
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
