"""Fargate's task metadata endpoint v4 (``ECS_CONTAINER_METADATA_URI_V4``), served locally.

``EcsRunLauncher`` reads it from inside a run's task to copy the cluster, task definition
and network of the task it runs in; only the fields it and Dagster read are filled in.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["MetadataServer", "task_metadata"]


def task_metadata(task: dict, definition: dict, container: str) -> dict:
    """The container and task documents the endpoint answers for one task (keys ``container``, ``task``)."""
    labels = {
        "com.amazonaws.ecs.cluster": task["clusterArn"],
        "com.amazonaws.ecs.container-name": container,
        "com.amazonaws.ecs.task-arn": task["taskArn"],
        "com.amazonaws.ecs.task-definition-family": definition["family"],
        "com.amazonaws.ecs.task-definition-version": str(definition["revision"]),
    }
    container_doc = {
        "Name": container,
        "DockerName": container,
        "Labels": labels,
        "DesiredStatus": "RUNNING",
        "KnownStatus": "RUNNING",
        "Type": "NORMAL",
    }
    return {
        "container": container_doc,
        "task": {
            "Cluster": task["clusterArn"],
            "TaskARN": task["taskArn"],
            "Family": definition["family"],
            "Revision": str(definition["revision"]),
            "DesiredStatus": "RUNNING",
            "KnownStatus": "RUNNING",
            "LaunchType": task.get("launchType", "FARGATE"),
            "Containers": [container_doc],
        },
    }


class _MetadataHandler(BaseHTTPRequestHandler):
    """``GET /v4/<task id>`` (container) and ``/v4/<task id>/task``, as Fargate's endpoint v4 answers."""

    server: MetadataServer

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        doc = None
        if len(parts) >= 2 and parts[0] == "v4":
            meta = self.server.lookup(parts[1])
            if meta is not None:
                doc = meta["task"] if parts[2:] == ["task"] else meta["container"] if len(parts) == 2 else None
        body = json.dumps(doc).encode()
        self.send_response(200 if doc is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:  # quiet
        pass


class MetadataServer(ThreadingHTTPServer):
    """The endpoint on a free local port, answering from ``lookup(task_id)`` (None: 404)."""

    def __init__(self, lookup: Callable[[str], dict | None]):
        self.lookup = lookup
        super().__init__(("127.0.0.1", 0), _MetadataHandler)

    @property
    def base_url(self) -> str:
        """``.../v4``; a task's ``ECS_CONTAINER_METADATA_URI_V4`` is this plus ``/<task id>``."""
        return f"http://127.0.0.1:{self.server_address[1]}/v4"

    def start(self) -> MetadataServer:
        threading.Thread(target=self.serve_forever, name="fake-fargate-metadata", daemon=True).start()
        return self

    def close(self) -> None:
        self.shutdown()
        self.server_close()
