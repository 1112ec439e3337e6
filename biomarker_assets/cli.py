"""The ``biomarker-assets`` command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path


def _validate_config(args: argparse.Namespace) -> int:
    from biomarker_assets.lib.study_config.loading import ConfigError, load_config_file

    status = 0
    for path in args.files:
        try:
            loaded = load_config_file(path)
        except ConfigError as exc:
            print(f"{path}: INVALID ({len(exc.errors)} error(s))")
            for error in exc.errors:
                print(f"  - {error}")
            status = 1
        except OSError as exc:
            print(f"{path}: cannot read: {exc}")
            status = 1
        else:
            config = loaded.config
            print(
                f"{path}: OK (study {config.study}, {len(config.pipelines)} pipeline(s), "
                f"{len(config.data_files)} data rule(s), {len(config.metadata_files)} metadata rule(s), "
                f"sha256 {loaded.digest[:12]})"
            )
    return status


def _config_schema(args: argparse.Namespace) -> int:
    from biomarker_assets.lib.study_config.loading import json_schema

    sys.stdout.write(json_schema())
    return 0


def _parse_inputs(pairs: list[str]) -> dict[str, float | str]:
    inputs: dict[str, float | str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--input takes NAME=VALUE, got {pair!r}")
        try:
            inputs[name] = float(value)
        except ValueError:
            inputs[name] = value
    return inputs


def _process_file(args: argparse.Namespace) -> int:
    from biomarker_assets.lib.biomarkers.processing import ProcessingError
    from biomarker_assets.lib.catalog.matching import classify, filename_fields
    from biomarker_assets.lib.skdh.isolation import process_file_contained
    from biomarker_assets.lib.study_config.loading import ConfigError, load_config_file
    from biomarker_assets.lib.study_config.schema import DataFiles

    try:
        loaded = load_config_file(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    pipelines = loaded.config.pipelines
    name = args.pipeline
    if name is None:
        match = classify(loaded.config, args.key or args.path.name)
        if match is None or not isinstance(match.rule, DataFiles):  # kind "data"
            print(
                f"no data rule of {args.config} matches {args.key or args.path.name!r}; "
                f"give --key (the file's S3 key) or --pipeline one of {sorted(pipelines)}",
                file=sys.stderr,
            )
            return 2
        name = match.rule.pipeline
    if name not in pipelines:
        print(f"pipeline {name!r} is not in {sorted(pipelines)}", file=sys.stderr)
        return 2
    inputs = _parse_inputs(args.input)
    missing = [r for r in pipelines[name].requires if r not in inputs]
    if missing:
        print(f"pipeline {name!r} requires {missing}: give --input {missing[0]}=VALUE", file=sys.stderr)
        return 2
    try:
        fields = filename_fields(loaded.config, args.key or args.path.name)
        result = process_file_contained(
            args.path, loaded=loaded, pipeline_name=name, inputs=inputs, out_dir=args.out, file_fields=fields
        )
    except ProcessingError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                "results": [str(p) for p in result.result_files],
                "provenance": str(result.provenance_file),
                "headline": result.headline,
            },
            indent=2,
            default=float,
        )
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from biomarker_assets.local.demo import run_demo

    return run_demo(home=args.home, samples=args.samples)


def _local_aws(args: argparse.Namespace) -> int:
    from biomarker_assets.local.demo import serve_local_aws

    return serve_local_aws(port=args.port, samples=args.samples)


def _dev(args: argparse.Namespace) -> int:
    from biomarker_assets.local.dev import run_dev

    return run_dev(port=args.port, samples=args.samples, home=args.home)


def _reproduce(args: argparse.Namespace) -> int:
    from biomarker_assets.platform.reproduce import run_reproduce

    return run_reproduce(args.provenance, allow_environment_differences=args.allow_environment_differences)


def _deploy(args: argparse.Namespace) -> int:
    from biomarker_assets.deploy import DeployError, deploy, parse_assignments

    try:
        overrides = parse_assignments(args.parameter)
    except DeployError as exc:
        print(f"deploy: {exc}", file=sys.stderr)
        return 2
    return deploy(
        args.env,
        image=args.image,
        overrides=overrides,
        parameters_file=args.parameters_file,
        dry_run=args.dry_run,
        template_bucket=args.template_bucket,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="biomarker-assets", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    samples_help = "folder of SKDH sample files (default: $SKDH_SAMPLES_DIR or ../shared/data/skdh-samples)"
    p = sub.add_parser("demo", help="run the whole flow on the demo study against a local AWS stand-in")
    p.add_argument("--home", type=Path, help="DAGSTER_HOME to keep (default: a temporary folder)")
    p.add_argument("--samples", type=Path, help=samples_help)
    p.set_defaults(func=_demo)

    p = sub.add_parser("dev", help="start the local AWS stand-in with the demo study, then `dagster dev` (both fresh)")
    p.add_argument("--port", type=int, default=3000, help="Dagster UI port")
    p.add_argument(
        "--home",
        type=Path,
        default=Path(".dagster_home"),
        help="DAGSTER_HOME (its Dagster state is cleared on each start)",
    )
    p.add_argument("--samples", type=Path, help=samples_help)
    p.set_defaults(func=_dev)

    p = sub.add_parser("local-aws", help="serve the local AWS stand-in with the demo study until interrupted")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--samples", type=Path, help=samples_help)
    p.set_defaults(func=_local_aws)

    p = sub.add_parser("validate-config", help="check study config files; lists every error with its path")
    p.add_argument("files", nargs="+", type=Path)
    p.set_defaults(func=_validate_config)

    p = sub.add_parser("config-schema", help="print the study config's JSON Schema")
    p.set_defaults(func=_config_schema)

    p = sub.add_parser("process-file", help="run a study pipeline on a local file: no AWS, no Dagster")
    p.add_argument("path", type=Path)
    p.add_argument("--config", required=True, type=Path, help="study config YAML")
    p.add_argument("--out", type=Path, default=Path("biomarker-results"), help="output folder")
    p.add_argument("--key", help="the file's S3 key, to choose the data rule (default: the file name)")
    p.add_argument("--pipeline", help="pipeline name, instead of matching --key")
    p.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="subject input for the pipeline, e.g. height=1.88 (metres)",
    )
    p.set_defaults(func=_process_file)

    p = sub.add_parser("reproduce", help="re-make a result from its provenance record and compare every output")
    p.add_argument("provenance", help="provenance.json: a local path or an s3:// URI")
    p.add_argument(
        "--allow-environment-differences",
        action="store_true",
        help="exit 0 when every output matches even if package versions differ from the record",
    )
    p.set_defaults(func=_reproduce)

    p = sub.add_parser("deploy", help="create or update the AWS stack of one environment (CloudFormation)")
    p.add_argument("--env", required=True, choices=["dev", "stage", "prod"])
    p.add_argument("--image", help="image URI for webserver, daemon and runs (overrides ImageUri)")
    p.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one stack parameter, e.g. VpcId=vpc-0abc (repeatable)",
    )
    p.add_argument("--parameters-file", type=Path, help="JSON object of parameter values over the environment's")
    p.add_argument("--dry-run", action="store_true", help="check parameters and template, print them, change nothing")
    p.add_argument(
        "--template-bucket",
        help="private S3 bucket (this region) for the template: it is over CloudFormation's inline limit",
    )
    p.set_defaults(func=_deploy)

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
