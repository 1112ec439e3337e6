"""From a partition key to its study config, the object it names, its rule and its current version.

Step helpers for assets: a problem is an SQS message and a ``dg.Failure`` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
from botocore.exceptions import ClientError

from biomarker_assets.lib.catalog.matching import Match, classify
from biomarker_assets.lib.catalog.problem_notices import config_error_notice
from biomarker_assets.lib.partition_keys import parse_file_partition_key
from biomarker_assets.lib.provenance import InputRecord
from biomarker_assets.lib.study_config.loading import ConfigError, ConfigNotFound, ConfigUnreadable, LoadedConfig
from biomarker_assets.resources.aws import is_transient
from biomarker_assets.resources.notifier import Kind, Notifier
from biomarker_assets.resources.study_store import StudyStore


def load_study_config(study: str, store: StudyStore, notifier: Notifier) -> LoadedConfig:
    """The study's config, or an SQS message and a failure naming what is wrong."""
    uri = store.config_uri(study)
    try:
        return store.load_config(study)
    except ConfigNotFound as exc:
        notifier.send(Kind.MISSING_CONFIG, study, uri, str(exc))
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    except ConfigError as exc:
        notice = config_error_notice(exc)
        notifier.send(Kind.INVALID_CONFIG, study, uri, notice.reason, **notice.details)
        description = f"invalid study config {uri}:\n" + "\n".join(notice.details["errors"])
        # an unreadable config (S3 403/500) may be readable on a retry; an invalid one never is
        raise dg.Failure(description=description, allow_retries=isinstance(exc, ConfigUnreadable)) from None


@dataclass
class StudyFile:
    partition_key: str
    study: str
    key: str
    loaded: LoadedConfig
    match: Match
    head: dict

    @property
    def bucket(self) -> str:
        return self.loaded.config.bucket

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def input_record(self, sha256: str) -> InputRecord:
        return InputRecord(
            uri=self.uri,
            bucket=self.bucket,
            key=self.key,
            version_id=self.head.get("VersionId"),
            etag=self.head["ETag"].strip('"'),
            size=self.head["ContentLength"],
            sha256=sha256,
        )


def resolve_file(partition_key: str, kind: str, store: StudyStore, notifier: Notifier) -> StudyFile:
    study, key = parse_file_partition_key(partition_key)
    loaded = load_study_config(study, store, notifier)
    match = classify(loaded.config, key)
    uri = f"s3://{loaded.config.bucket}/{key}"
    if match is None or match.kind != kind:
        reason = f"{uri} is no longer a {kind} file under the study config (rules changed?)"
        notifier.send(Kind.PROCESSING_FAILED, study, uri, reason)
        raise dg.Failure(description=reason, allow_retries=False)
    try:
        head = store.head(loaded.config.bucket, key)
    except ClientError as exc:
        if is_transient(exc):  # a 5xx or throttle that outlasted the client's retries: the step is retried
            raise
        reason = f"{uri} cannot be read: {exc.response.get('Error', {}).get('Code', exc)}"
        notifier.send(Kind.PROCESSING_FAILED, study, uri, reason)
        raise dg.Failure(description=reason, allow_retries=False) from None
    return StudyFile(partition_key, study, key, loaded, match, head)
