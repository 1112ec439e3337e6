"""``python -m biomarker_assets_tests.support.fake_ecs --cluster NAME``: moto, the project's resources and
an empty cluster, the environment to export printed, and every task launched into the cluster run until Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
import sys

from biomarker_assets.local.aws_standin import create_project_resources, moto_server, print_exports_and_wait
from biomarker_assets.resources.aws import aws_client
from biomarker_assets_tests.support import fake_ecs
from biomarker_assets_tests.support.fake_ecs.fargate import FakeFargate
from biomarker_assets_tests.support.fake_ecs.fargate_platform import create_fargate_network


def main(argv: list[str] | None = None) -> int:
    """Run moto and the stand-in until Ctrl-C (tasks are launched from another shell)."""
    parser = argparse.ArgumentParser(
        prog="python -m biomarker_assets_tests.support.fake_ecs", description=(fake_ecs.__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--cluster", default="biomarker-assets-local")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--no-memory-limit", action="store_true", help="do not kill tasks over their memory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for noisy in ("werkzeug", "botocore", "boto3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with moto_server(args.port) as url:
        create_project_resources()
        network = create_fargate_network()
        aws_client("ecs").create_cluster(clusterName=args.cluster)
        with FakeFargate(args.cluster, enforce_memory=not args.no_memory_limit) as fargate:
            print(f"moto at {url}; cluster {args.cluster}; network {network}; task logs in {fargate.log_dir}")
            print_exports_and_wait("Register task definitions and launch tasks against it; Ctrl-C stops.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
