"""From a file partition key to the object it names, its rule and its current version."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
from botocore.exceptions import ClientError

from biomarker_assets.catalog.assets import load_study_config
from biomarker_assets.catalog.matching import Match, classify
from biomarker_assets.config.loading import LoadedConfig
from biomarker_assets.partition_keys import parse_file_partition_key
from biomarker_assets.provenance import InputRecord
from biomarker_assets.resources.notifier import Kind, Notifier
from biomarker_assets.resources.study_store import StudyStore


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
        reason = f"{uri} cannot be read: {exc.response.get('Error', {}).get('Code', exc)}"
        notifier.send(Kind.PROCESSING_FAILED, study, uri, reason)
        raise dg.Failure(description=reason, allow_retries=False) from None
    return StudyFile(partition_key, study, key, loaded, match, head)
