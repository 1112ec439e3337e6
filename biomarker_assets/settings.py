"""Deployment names shared by the code location, the CLI and the local stand-in.

Each has an environment variable so one image serves dev, stage and prod.
"""

from __future__ import annotations

import os

CONFIG_BUCKET = os.environ.get("BIOMARKER_CONFIG_BUCKET", "biomarker-study-configs")
CONFIG_PREFIX = os.environ.get("BIOMARKER_CONFIG_PREFIX", "studies/")
NOTIFICATION_QUEUE = os.environ.get("BIOMARKER_NOTIFICATION_QUEUE", "biomarker-notifications")
METADATA_TABLE = os.environ.get("BIOMARKER_METADATA_TABLE", "biomarker-subject-metadata")
IMAGE = os.environ.get("BIOMARKER_IMAGE", "local")
# A ~10 KB overview thumbnail in each file's materialization metadata (0 to keep the event log small).
EMBED_PLOTS = os.environ.get("BIOMARKER_EMBED_PLOTS", "1") not in ("0", "false", "no")
