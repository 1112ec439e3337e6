"""Study configs in the config bucket and files in study buckets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from botocore.exceptions import ClientError
from dagster import ConfigurableResource

from biomarker_assets import settings
from biomarker_assets.config.loading import LoadedConfig, load_config_from_s3
from biomarker_assets.resources.aws import aws_client


class BucketMissing(LookupError):
    pass


class StudyStore(ConfigurableResource):
    """Where configs are (``config_bucket``/``config_prefix``<study>.yaml) and how files are read/written."""

    config_bucket: str = settings.CONFIG_BUCKET
    config_prefix: str = settings.CONFIG_PREFIX

    def load_config(self, study: str) -> LoadedConfig:
        return load_config_from_s3(self.config_bucket, self.config_prefix, study)

    def config_studies(self) -> Iterator[tuple[str, str]]:
        """(study id, key) for every ``*.yaml`` under the config prefix."""
        for obj in self.list_objects(self.config_bucket, self.config_prefix):
            name = obj["Key"][len(self.config_prefix) :]
            if name.endswith(".yaml") and "/" not in name:
                yield name[: -len(".yaml")], obj["Key"]

    def require_bucket(self, bucket: str) -> None:
        try:
            aws_client("s3").head_bucket(Bucket=bucket)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise BucketMissing(f"bucket {bucket!r} does not exist or is not readable ({code})") from exc

    def list_objects(self, bucket: str, prefix: str) -> Iterator[dict]:
        paginator = aws_client("s3").get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def head(self, bucket: str, key: str) -> dict:
        return aws_client("s3").head_object(Bucket=bucket, Key=key)

    def download(self, bucket: str, key: str, path: Path, version_id: str | None = None) -> None:
        """Streams to disk (multipart), never the whole object in memory."""
        extra = {"VersionId": version_id} if version_id else None
        aws_client("s3").download_file(bucket, key, str(path), ExtraArgs=extra)

    def upload(self, path: Path, bucket: str, key: str, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else None
        aws_client("s3").upload_file(str(path), bucket, key, ExtraArgs=extra)

    def put_bytes(self, data: bytes, bucket: str, key: str, content_type: str) -> None:
        aws_client("s3").put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
