"""Dagster assets that turn wearable-sensor files in study S3 buckets into SKDH biomarkers."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("biomarker-assets")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
