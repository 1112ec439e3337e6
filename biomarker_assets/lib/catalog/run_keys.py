"""Run keys and backfill ids derived from what they request, the same in every process.

Dagster drops a run request whose run key it has seen, so a tick retried after a crash or a
restarted code server asks for nothing twice; ``hash()`` of a str is salted per process, sha256 is not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping


def file_run_key(partition_key: str, etag: str) -> str:
    """One run per file version: a duplicate event or a re-delivered message costs nothing."""
    return f"{partition_key}@{etag}"


def configs_run_key(etags: Mapping[str, str]) -> str:
    """The same for the same configs (key -> ETag) in any process."""
    digest = ",".join(f"{k}={v}" for k, v in sorted(etags.items()))
    return f"configs:{hashlib.sha256(digest.encode()).hexdigest()[:16]}"


def files_backfill_id(versions: Iterable[tuple[str, str]]) -> str:
    """A backfill id from the (partition key, ETag) pairs, in their order: a re-run tick does not submit it twice."""
    joined = "\n".join(file_run_key(partition_key, etag) for partition_key, etag in versions)
    return hashlib.sha256(joined.encode()).hexdigest()[:16]
