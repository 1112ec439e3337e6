"""Study configs in the config bucket and files in study buckets."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.exceptions import BotoCoreError, ClientError
from dagster import ConfigurableResource
from s3transfer.exceptions import S3DownloadFailedError
from s3transfer.futures import TransferFuture
from s3transfer.subscribers import BaseSubscriber

from biomarker_assets.lib.study_config.cache import PARSED_CONFIGS, ConfigVersion
from biomarker_assets.lib.study_config.loading import (
    MAX_CONFIG_BYTES,
    ConfigError,
    ConfigLocation,
    ConfigNotFound,
    ConfigUnreadable,
    LoadedConfig,
    config_key,
    parse_study_config,
)
from biomarker_assets.resources.aws import aws_client


class BucketMissing(LookupError):
    pass


class ObjectChanged(RuntimeError):
    """The object version a run recorded is no longer what S3 serves (overwritten, removed)."""


# S3's answers to a conditional request that does not hold (and to a concurrent conditional write)
PRECONDITION_CODES = ("PreconditionFailed", "412", "ConditionalRequestConflict", "409")
GONE_CODES = ("NoSuchKey", "NoSuchVersion", "404")


def _error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


class StudyStore(ConfigurableResource):
    """Where configs are (``config_bucket``/``config_prefix``<study>.yaml) and how files are read/written.

    The field defaults are the deployment names used when no environment variable overrides them
    (``defs/resources.py`` binds the variables).
    """

    config_bucket: str = "biomarker-study-configs"
    config_prefix: str = "studies/"
    # 64 MiB parts, 4 at a time: a week at 100 Hz (~260 MB) is 5 ranged GETs instead of
    # boto3's default 33 x 8 MiB, fewer requests on S3 and far fewer full-object reads
    # on moto (which reads the whole object for every ranged GET); 4 streams fill a
    # Fargate task's network without one thread per part.
    transfer_part_mib: int = 64
    transfer_concurrency: int = 4
    list_page_size: int = 1000  # S3's maximum; smaller only to exercise paging in tests

    def _transfer_config(self) -> TransferConfig:
        part = self.transfer_part_mib * 1024 * 1024
        return TransferConfig(
            multipart_threshold=part, multipart_chunksize=part, max_concurrency=self.transfer_concurrency
        )

    def config_key(self, study: str) -> str:
        return config_key(self.config_prefix, study)

    def config_uri(self, study: str) -> str:
        return f"s3://{self.config_bucket}/{self.config_key(study)}"

    def load_config(self, study: str) -> LoadedConfig:
        """The study's config, validated; ConfigNotFound when there is no file, ConfigError when it is bad.

        ConfigUnreadable (a ConfigError) when S3 refuses it or it is over ``MAX_CONFIG_BYTES``: callers
        that isolate a bad config per study isolate an unreadable one the same way.

        An unchanged config costs one HEAD: parse results are kept per object version
        (``lib.study_config.cache``), so only a new ETag/VersionId is read and parsed again.
        """
        key = self.config_key(study)
        version = self._config_version(key)
        if version is not None:
            kept = PARSED_CONFIGS.get(version)  # raises the kept ConfigError of an invalid version
            if kept is not None:
                return kept
        body, version = self._read_config(key)
        try:
            loaded = parse_study_config(body, self.config_uri(study), study)
        except ConfigError as exc:
            PARSED_CONFIGS.put_invalid(version, exc, len(body))
            raise
        location = ConfigLocation(self.config_bucket, key, version.version_id, version.etag or None)
        loaded = dataclasses.replace(loaded, location=location)
        PARSED_CONFIGS.put(version, loaded)
        return loaded

    def _config_version(self, key: str) -> ConfigVersion | None:
        """The config's current version from a HEAD; None when the HEAD fails (the GET then says why)."""
        try:
            head = aws_client("s3").head_object(Bucket=self.config_bucket, Key=key)
        except (ClientError, BotoCoreError):
            return None
        return ConfigVersion(self.config_bucket, key, str(head.get("ETag", "")).strip('"'), head.get("VersionId"))

    def _read_config(self, key: str) -> tuple[bytes, ConfigVersion]:
        """The config's bytes and the version they are (from the GET's own answer, not an earlier HEAD)."""
        uri = f"s3://{self.config_bucket}/{key}"
        try:
            response = aws_client("s3").get_object(Bucket=self.config_bucket, Key=key)
            if response["ContentLength"] > MAX_CONFIG_BYTES:  # refused before reading the body
                response["Body"].close()
                raise ConfigUnreadable(uri, f"{response['ContentLength']:,} bytes, over the {MAX_CONFIG_BYTES:,} limit")
            body = response["Body"].read(MAX_CONFIG_BYTES + 1)  # bounded even if ContentLength lied
        except ClientError as exc:
            code = _error_code(exc)
            if code in ("NoSuchKey", "NoSuchBucket", "404"):
                raise ConfigNotFound(f"no study config at {uri} ({code})") from exc
            raise ConfigUnreadable(uri, f"S3 GetObject failed: {code or exc}") from exc
        except BotoCoreError as exc:  # connection and read errors, after the client's retries
            raise ConfigUnreadable(uri, f"{type(exc).__name__}: {exc}") from exc
        etag = str(response.get("ETag", "")).strip('"')
        return body, ConfigVersion(self.config_bucket, key, etag, response.get("VersionId"))

    def object_bytes(self, bucket: str, key: str) -> bytes | None:
        """The object's body, or None when there is no such key (state files not written yet).

        BucketMissing when the bucket is gone, so a deleted bucket is never read as "no state".
        """
        found = self.object_with_etag(bucket, key)
        return found[0] if found else None

    def object_with_etag(self, bucket: str, key: str) -> tuple[bytes, str] | None:
        """(body, ETag) for a later conditional write, or None when there is no such key."""
        try:
            response = aws_client("s3").get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) == "NoSuchBucket":
                raise BucketMissing(f"bucket {bucket!r} does not exist") from exc
            if _error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        return response["Body"].read(), response["ETag"]

    def put_bytes_if(self, data: bytes, bucket: str, key: str, content_type: str, etag: str | None) -> bool:
        """Writes only if the object still has ``etag`` (None: only if there is none); False when it changed.

        S3's conditional writes make a read-check-write a compare-and-swap: two runs cannot both
        replace what they read.
        """
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            aws_client("s3").put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type, **condition)
        except ClientError as exc:
            if _error_code(exc) in PRECONDITION_CODES or (etag and _error_code(exc) in GONE_CODES):
                return False
            raise
        return True

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
            code = _error_code(exc)
            raise BucketMissing(f"bucket {bucket!r} does not exist or is not readable ({code})") from exc

    def list_objects(self, bucket: str, prefix: str) -> Iterator[dict]:
        for objects, _more in self.list_pages(bucket, prefix):
            yield from objects

    def list_pages(self, bucket: str, prefix: str, start_after: str | None = None) -> Iterator[tuple[list[dict], bool]]:
        """Pages of up to 1,000 objects in key order, each with whether more follow.

        ``start_after`` (a key, exclusive) lets a listing resume where an earlier one stopped,
        unlike a continuation token it never expires.
        """
        paginator = aws_client("s3").get_paginator("list_objects_v2")
        extra = {"StartAfter": start_after} if start_after else {}
        pages = paginator.paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": self.list_page_size}, **extra
        )
        for page in pages:
            yield page.get("Contents", []), bool(page.get("IsTruncated"))

    def first_bytes(self, bucket: str, key: str, n: int) -> bytes:
        """The object's first ``n`` bytes (a ranged GET): a device file's header, for run sizing."""
        return aws_client("s3").get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{n - 1}")["Body"].read()

    def head(self, bucket: str, key: str) -> dict:
        return aws_client("s3").head_object(Bucket=bucket, Key=key)

    def head_or_none(self, bucket: str, key: str) -> dict | None:
        """The object's HEAD now, None when the key is gone; other errors (403, a missing bucket) raise."""
        try:
            return self.head(bucket, key)
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                if self.bucket_exists(bucket):
                    return None
                raise BucketMissing(f"bucket {bucket!r} does not exist") from exc
            raise

    def bucket_exists(self, bucket: str) -> bool:
        """HEAD answers 404 for a missing key and a missing bucket alike; this tells them apart."""
        try:
            aws_client("s3").head_bucket(Bucket=bucket)
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                return False
            raise
        return True

    def download(
        self, bucket: str, key: str, path: Path, version_id: str | None = None, etag: str | None = None
    ) -> None:
        """Streams exactly the recorded version to disk (multipart), never the whole object in memory.

        By ``version_id`` where the bucket keeps versions, else only while the object's ETag is
        ``etag`` (``If-Match`` on every GET); ObjectChanged when that version is gone.
        """
        extra = {"VersionId": version_id} if version_id else {}
        try:
            if etag and not version_id:
                self._download_if_match(bucket, key, path, etag)
            else:
                aws_client("s3").download_file(bucket, key, str(path), ExtraArgs=extra, Config=self._transfer_config())
        except ClientError as exc:
            if _error_code(exc) in PRECONDITION_CODES or _error_code(exc) in GONE_CODES:
                raise ObjectChanged(f"s3://{bucket}/{key} changed or was removed ({_error_code(exc)})") from exc
            raise
        except S3DownloadFailedError as exc:  # s3transfer's report of an ETag mismatch between parts
            raise ObjectChanged(f"s3://{bucket}/{key} changed during the download ({exc})") from exc

    def _download_if_match(self, bucket: str, key: str, path: Path, etag: str) -> None:
        """One GET with If-Match, or s3transfer's ranged GETs, which send If-Match on every part."""
        s3 = aws_client("s3")
        part = self.transfer_part_mib * 1024 * 1024
        try:
            response = s3.get_object(Bucket=bucket, Key=key, IfMatch=etag, Range=f"bytes=0-{part - 1}")
        except ClientError as exc:
            if _error_code(exc) != "InvalidRange":
                raise
            response = s3.get_object(Bucket=bucket, Key=key, IfMatch=etag)  # an empty object has no byte 0
        total = int(response.get("ContentRange", "/0").rsplit("/", 1)[-1] or response["ContentLength"])
        if total <= part:
            with path.open("wb") as out:
                for chunk in response["Body"].iter_chunks(1024 * 1024):
                    out.write(chunk)
            return
        response["Body"].close()
        with create_transfer_manager(s3, self._transfer_config()) as manager:
            manager.download(bucket, key, str(path), subscribers=[_KnownObject(total, etag)]).result()

    def upload(self, path: Path, bucket: str, key: str, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else None
        aws_client("s3").upload_file(str(path), bucket, key, ExtraArgs=extra, Config=self._transfer_config())

    def put_bytes(self, data: bytes, bucket: str, key: str, content_type: str) -> None:
        aws_client("s3").put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)


class _KnownObject(BaseSubscriber):
    """Hands s3transfer the size and ETag we recorded, so its ranged GETs carry our If-Match, not a new HEAD's."""

    def __init__(self, size: int, etag: str) -> None:
        self.size, self.etag = size, etag

    def on_queued(self, future: TransferFuture, **kwargs: object) -> None:
        future.meta.provide_transfer_size(self.size)
        future.meta.provide_object_etag(self.etag)
