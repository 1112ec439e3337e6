"""Study configs: every config in the config bucket validated; each valid one becomes a study partition.

A config that is invalid, unreadable (S3 403/500) or hostile (too large, too deep) is that study's
``invalid_config`` alone: the studies beside it are still registered.
"""

import dagster as dg

from biomarker_assets.defs.partitions import studies
from biomarker_assets.lib.catalog.problem_notices import config_error_notice, shown_errors
from biomarker_assets.lib.partition_keys import is_valid_study_id
from biomarker_assets.lib.study_config.loading import ConfigError, ConfigNotFound, ConfigUnreadable, LoadedConfig
from biomarker_assets.platform.status import markdown_table
from biomarker_assets.resources.notifier import Kind, Notifier
from biomarker_assets.resources.study_store import StudyStore


def _load_alone(store: StudyStore, study: str, uri: str) -> LoadedConfig:
    """The study's config; any failure, even one nobody foresaw, is a ConfigError of this study alone."""
    try:
        return store.load_config(study)
    except (ConfigError, ConfigNotFound):
        raise
    except Exception as exc:  # isolation: one study's unexpected failure must not stop the others
        raise ConfigUnreadable(uri, f"{type(exc).__name__}: {exc}") from exc


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
            loaded = _load_alone(study_store, study, uri)
        except ConfigNotFound as exc:  # deleted between the listing and the read: the next change re-runs this
            rows.append((study, "missing", str(exc)))
            continue
        except ConfigError as exc:
            notice = config_error_notice(exc)
            notifier.send(Kind.INVALID_CONFIG, study, uri, notice.reason, **notice.details)
            context.log.error(f"invalid study config {uri}:\n" + "\n".join(notice.details["errors"]))
            rows.append((study, "invalid", "; ".join(shown_errors(exc.errors, limit=3))))
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
