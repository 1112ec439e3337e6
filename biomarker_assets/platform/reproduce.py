"""The ``reproduce`` command: S3 access for :mod:`biomarker_assets.lib.reproduce`, and its report on stdout."""

from __future__ import annotations

import sys
from pathlib import Path

from botocore.exceptions import ClientError

from biomarker_assets.lib.reproduce import ReproduceError, load_record, reproduce
from biomarker_assets.resources.aws import aws_client


class S3Objects:
    """Exact object versions from S3 (or moto: boto3 reads ``AWS_ENDPOINT_URL``)."""

    def get_bytes(self, bucket: str, key: str, version_id: str | None) -> bytes | None:
        extra = {"VersionId": version_id} if version_id else {}
        try:
            return aws_client("s3").get_object(Bucket=bucket, Key=key, **extra)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "NoSuchVersion", "404", "NoSuchBucket"):
                return None
            raise

    def download(self, bucket: str, key: str, version_id: str | None, path: Path) -> None:
        extra = {"VersionId": version_id} if version_id else None
        aws_client("s3").download_file(bucket, key, str(path), ExtraArgs=extra)


def run_reproduce(ref: str, allow_environment_differences: bool = False) -> int:
    """0: every output re-made identical (and the environment as recorded); 1: a mismatch; 2: cannot reproduce."""
    source = S3Objects()
    try:
        record = load_record(ref, source)
        report = reproduce(record, source)
    except (ReproduceError, OSError, ValueError) as exc:
        print(f"reproduce {ref}: cannot reproduce: {exc}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    ok = report.ok(allow_environment_differences)
    verdict = "REPRODUCED" if ok else "NOT REPRODUCED"
    print(f"{verdict}: {len(report.matched)} of {len(record.outputs)} output(s) identical to the record")
    return 0 if ok else 1
