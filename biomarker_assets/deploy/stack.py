"""Create or update one environment's CloudFormation stack (``biomarker-assets deploy``).

The template and the per-environment parameter files ship inside the package, so an
installed ``biomarker-assets`` deploys without a checkout. Parameters are checked against
the template before any AWS call: a missing VPC or an invalid Fargate size fails in a second,
not after a half-created stack rolls back.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from biomarker_assets.platform.fargate import FARGATE_SIZES, is_valid, memory_bounds
from biomarker_assets.resources.aws import aws_client, region_name

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "stack.yaml"
ENVIRONMENTS = HERE / "environments"
# CloudFormation's limit for a template passed inline (TemplateBody); larger needs an S3 TemplateURL
MAX_TEMPLATE_BODY = 51_200
NO_UPDATES = "No updates are to be performed"
# looked up by `deploy` when not given: the VPC's CIDR and the region's S3/DynamoDB prefix lists
LOOKED_UP = ("VpcCidr", "S3PrefixListId", "DynamoDbPrefixListId")
# the UI's ingress may be no wider than this (0.0.0.0/0 and ::/0 are world-open)
WIDEST_UI_PREFIX = 8
# (CPU, memory) parameter pairs of the template; the valid pairs are platform.fargate's one table
FARGATE_PAIRS = [("WebserverCpu", "WebserverMemory"), ("DaemonCpu", "DaemonMemory"), ("RunTaskCpu", "RunTaskMemory")]

_CPU_UNITS = {str(cpu): cpu for cpu in FARGATE_SIZES}  # a CPU parameter's text -> Fargate CPU units


class DeployError(Exception):
    """A problem the person deploying must fix; the message says what and where."""


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (``!Ref``, ``!Sub``, ...) as their long form."""


def _cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    if tag_suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as a dict, intrinsic functions in their long (JSON) form."""
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # a SafeLoader: no arbitrary objects


def environments() -> list[str]:
    return sorted(p.stem for p in ENVIRONMENTS.glob("*.json"))


def cfn_value(value: Any) -> str:
    """CloudFormation takes every parameter as a string; lists are comma-separated."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise DeployError(f"--parameter takes KEY=VALUE, got {pair!r}")
        values[key] = value
    return values


@dataclass
class Environment:
    name: str
    stack_name: str
    parameters: dict[str, str]
    tags: dict[str, str] = field(default_factory=dict)
    termination_protection: bool = False


def load_environment(
    name: str,
    *,
    image: str | None = None,
    overrides: dict[str, Any] | None = None,
    parameters_file: Path | None = None,
) -> Environment:
    """The environment's file, then ``parameters_file`` (a JSON object), then ``overrides``, then ``image``."""
    path = ENVIRONMENTS / f"{name}.json"
    if not path.is_file():
        raise DeployError(f"no environment {name!r}; known: {', '.join(environments())}")
    raw = json.loads(path.read_text())
    parameters = dict(raw["parameters"])
    if parameters_file is not None:
        extra = json.loads(Path(parameters_file).read_text())
        if not isinstance(extra, dict):
            raise DeployError(f"{parameters_file}: expected a JSON object of parameter values")
        parameters.update(extra.get("parameters", extra))
    parameters.update(overrides or {})
    if image:
        parameters["ImageUri"] = image
    return Environment(
        name=name,
        stack_name=raw["stack_name"],
        parameters={k: cfn_value(v) for k, v in parameters.items()},
        tags={k: str(v) for k, v in raw.get("tags", {}).items()},
        termination_protection=bool(raw.get("termination_protection", False)),
    )


def check_parameters(parameters: dict[str, str], template: dict[str, Any] | None = None) -> list[str]:
    """Every problem CloudFormation would reject the parameters for, plus Fargate size pairs."""
    declared = (template or load_template())["Parameters"]
    problems = [f"{key}: not a parameter of the template" for key in parameters if key not in declared]
    for key, spec in declared.items():
        value = parameters.get(key, spec.get("Default"))
        value = None if value is None else cfn_value(value)
        kind = spec.get("Type", "String")
        if value is None or (value == "" and ("Default" not in spec or kind.startswith(("List", "AWS::")))):
            problems.append(f"{key}: needs a value ({spec.get('Description', kind).strip()})")
            continue
        if kind == "Number":
            try:
                number = float(value)
            except ValueError:
                problems.append(f"{key}: {value!r} is not a number")
                continue
            if "MinValue" in spec and number < float(spec["MinValue"]):
                problems.append(f"{key}: {value} is below {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                problems.append(f"{key}: {value} is above {spec['MaxValue']}")
            if "AllowedValues" in spec and number not in [float(v) for v in spec["AllowedValues"]]:
                problems.append(f"{key}: {value} is not one of {spec['AllowedValues']}")
            continue
        if "AllowedValues" in spec and value not in [cfn_value(v) for v in spec["AllowedValues"]]:
            problems.append(f"{key}: {value!r} is not one of {spec['AllowedValues']}")
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
            problems.append(f"{key}: {value!r} does not match {spec['AllowedPattern']}")
        if len(value) < int(spec.get("MinLength", 0)):
            problems.append(f"{key}: must not be empty")
    if problem := world_open_problem(parameters.get("WebserverIngressCidr", "")):
        problems.append(problem)
    endpoints = cfn_value(parameters.get("CreateVpcEndpoints", declared["CreateVpcEndpoints"].get("Default")))
    if endpoints == "true" and not parameters.get("PrivateRouteTableIds"):
        problems.append("PrivateRouteTableIds: needs the private subnets' route tables (CreateVpcEndpoints is true)")
    for cpu_key, memory_key in FARGATE_PAIRS:
        cpu = cfn_value(parameters.get(cpu_key, declared[cpu_key].get("Default")))
        memory = cfn_value(parameters.get(memory_key, declared[memory_key].get("Default")))
        if cpu in _CPU_UNITS and memory.isdigit() and not is_valid(_CPU_UNITS[cpu], int(memory)):
            problems.append(f"{cpu_key}/{memory_key}: Fargate cannot run {cpu} CPU units with {memory} MiB")
    return problems


def world_open_problem(cidr: str) -> str | None:
    """Why ``cidr`` may not reach the UI, or None: world-open or wider than /8 is refused in every environment."""
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return None  # empty or malformed: the template's AllowedPattern reports it
    if network.prefixlen < WIDEST_UI_PREFIX:
        return (
            f"WebserverIngressCidr: {cidr} is world-open or nearly (wider than /{WIDEST_UI_PREFIX}); "
            "give the VPN or office range that may reach the UI"
        )
    return None


def look_up_network(parameters: dict[str, str], ec2: Any) -> None:
    """Fill in VpcCidr and the S3/DynamoDB prefix-list ids from the VPC and region, when not given."""
    if not parameters.get("VpcCidr") and parameters.get("VpcId"):
        parameters["VpcCidr"] = ec2.describe_vpcs(VpcIds=[parameters["VpcId"]])["Vpcs"][0]["CidrBlock"]
    for key, service in [("S3PrefixListId", "s3"), ("DynamoDbPrefixListId", "dynamodb")]:
        if not parameters.get(key):
            name = f"com.amazonaws.{region_name()}.{service}"
            lists = ec2.describe_managed_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": [name]}])
            if lists["PrefixLists"]:
                parameters[key] = lists["PrefixLists"][0]["PrefixListId"]


def template_location(cfn_body: str, stack_name: str, template_bucket: str | None) -> dict[str, str]:
    """TemplateBody when it fits CloudFormation's inline limit, else TemplateURL of a copy in ``template_bucket``."""
    if len(cfn_body.encode()) <= MAX_TEMPLATE_BODY:
        return {"TemplateBody": cfn_body}
    if not template_bucket:
        raise DeployError(
            f"{TEMPLATE.name} is {len(cfn_body.encode())} bytes and CloudFormation takes {MAX_TEMPLATE_BODY} inline: "
            "pass --template-bucket BUCKET (a private bucket of yours in this region)"
        )
    key = f"biomarker-assets/{stack_name}/{hashlib.sha256(cfn_body.encode()).hexdigest()[:16]}.yaml"
    aws_client("s3").put_object(Bucket=template_bucket, Key=key, Body=cfn_body.encode())
    return {"TemplateURL": f"https://{template_bucket}.s3.{region_name()}.amazonaws.com/{key}"}


def fargate_parameter_problems(template: dict[str, Any] | None = None) -> list[str]:
    """Where the template's CPU/memory parameters disagree with Fargate's size table (``platform.fargate``).

    The template is plain YAML, read by CloudFormation without this package, so it carries its own
    AllowedValues/MinValue/MaxValue; test_deploy_stack fails when they drift from the table.
    """
    declared = (template or load_template())["Parameters"]
    problems = []
    for cpu_key, memory_key in FARGATE_PAIRS:
        cpu_spec, memory_spec = declared[cpu_key], declared[memory_key]
        cpus = [cfn_value(v) for v in cpu_spec["AllowedValues"]]
        if unknown := [c for c in cpus if c not in _CPU_UNITS]:
            problems.append(f"{cpu_key}: {', '.join(unknown)} not among Fargate's CPU sizes {sorted(FARGATE_SIZES)}")
        low, high = memory_bounds(_CPU_UNITS[c] for c in cpus if c in _CPU_UNITS)
        bounds = (int(memory_spec["MinValue"]), int(memory_spec["MaxValue"]))
        if bounds != (low, high):
            problems.append(f"{memory_key}: {bounds[0]}-{bounds[1]} MiB, but {cpu_key}'s sizes allow {low}-{high}")
        default_cpu, default_memory = cfn_value(cpu_spec["Default"]), int(memory_spec["Default"])
        if default_cpu in _CPU_UNITS and not is_valid(_CPU_UNITS[default_cpu], default_memory):
            problems.append(f"{cpu_key}/{memory_key}: defaults {default_cpu} CPU units with {default_memory} MiB")
    return problems


def _stack(cfn: Any, stack_name: str) -> dict | None:
    try:
        return cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def _failure_reasons(cfn: Any, stack_name: str) -> list[str]:
    """The resource events that explain a failed create/update, oldest first."""
    events = cfn.describe_stack_events(StackName=stack_name).get("StackEvents", [])
    failed = [e for e in events if e.get("ResourceStatus", "").endswith("_FAILED")]
    return [
        f"{e['LogicalResourceId']} ({e.get('ResourceType')}): {e.get('ResourceStatusReason', '')}"
        for e in reversed(failed)
    ]


def deploy(
    env_name: str,
    *,
    image: str | None = None,
    overrides: dict[str, Any] | None = None,
    parameters_file: Path | None = None,
    dry_run: bool = False,
    template_bucket: str | None = None,
    poll_seconds: int = 15,
    out: Callable[[str], None] = print,
) -> int:
    """Create the stack if absent, else update it; wait, print outputs. Exit status 0/1."""
    try:
        env = load_environment(env_name, image=image, overrides=overrides, parameters_file=parameters_file)
    except (DeployError, OSError, ValueError) as exc:
        out(f"deploy: {exc}")
        return 1
    body = TEMPLATE.read_text()
    if env.parameters.get("VpcId") and not all(env.parameters.get(key) for key in LOOKED_UP):
        try:  # the only AWS call before the parameter check, and only once the VPC is known
            look_up_network(env.parameters, aws_client("ec2"))
        except (ClientError, BotoCoreError, IndexError) as exc:
            out(f"deploy: cannot look up {', '.join(LOOKED_UP)} for {env.parameters['VpcId']}: {exc}")
            return 1
    problems = check_parameters(env.parameters)
    if len(body.encode()) > MAX_TEMPLATE_BODY and not template_bucket:
        problems.append(
            f"{TEMPLATE.name} is {len(body.encode())} bytes, over CloudFormation's {MAX_TEMPLATE_BODY} inline: "
            "pass --template-bucket BUCKET (a private bucket of yours in this region)"
        )
    out(f"stack {env.stack_name} (environment {env.name}, region {region_name()})")
    for key in sorted(env.parameters):
        out(f"  {key} = {env.parameters[key]}")
    if problems:
        out(f"deploy: {len(problems)} problem(s) with the parameters of {env.name}:")
        for problem in problems:
            out(f"  - {problem}")
        return 1

    # deployment tooling, not the code location: no Dagster resource here, aws_client directly
    cfn = aws_client("cloudformation")
    parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(env.parameters.items())]
    tags = [{"Key": k, "Value": v} for k, v in sorted(env.tags.items())]
    try:
        existing = _stack(cfn, env.stack_name)
        template = template_location(body, env.stack_name, template_bucket)
        if dry_run:
            validation = cfn.validate_template(**template)
            action = f"update (now {existing['StackStatus']})" if existing else "create"
            out(f"template valid (capabilities {validation.get('Capabilities', [])}); would {action} {env.stack_name}")
            return 0
        stack_args = dict(
            StackName=env.stack_name,
            **template,
            Parameters=parameters,
            Capabilities=["CAPABILITY_IAM"],
            Tags=tags,
        )
        if existing is None:
            cfn.create_stack(**stack_args, EnableTerminationProtection=env.termination_protection)
            waiter, verb = "stack_create_complete", "created"
        else:
            status = existing["StackStatus"]
            if status == "ROLLBACK_COMPLETE":
                out(
                    f"deploy: {env.stack_name} failed to create and cannot be updated; delete it "
                    f"(aws cloudformation delete-stack --stack-name {env.stack_name}) and deploy again"
                )
                return 1
            if status.endswith("_IN_PROGRESS"):
                out(f"deploy: {env.stack_name} is {status}; wait for it to finish")
                return 1
            try:
                cfn.update_stack(**stack_args)
            except ClientError as exc:
                if NO_UPDATES not in str(exc):
                    raise
                out(f"{env.stack_name} is up to date: no changes")
                _print_outputs(existing, out)
                return 0
            waiter, verb = "stack_update_complete", "updated"
        out(f"waiting for {env.stack_name} ...")
        try:
            cfn.get_waiter(waiter).wait(
                StackName=env.stack_name, WaiterConfig={"Delay": poll_seconds, "MaxAttempts": 60 * 60 // poll_seconds}
            )
        except WaiterError as exc:
            out(f"deploy: {env.stack_name} did not finish: {exc}")
            for reason in _failure_reasons(cfn, env.stack_name):
                out(f"  - {reason}")
            return 1
    except (ClientError, BotoCoreError, DeployError) as exc:  # BotoCoreError: no credentials, endpoint unreachable
        out(f"deploy: {exc}")
        return 1
    stack = _stack(cfn, env.stack_name)
    if stack is None:  # deleted by someone else between the waiter's last poll and this read
        out(f"deploy: {env.stack_name} was {verb} but no longer exists")
        return 1
    out(f"{env.stack_name} {verb}: {stack['StackStatus']}")
    _print_outputs(stack, out)
    return 0


def _print_outputs(stack: dict, out: Callable[[str], None]) -> None:
    for output in sorted(stack.get("Outputs") or [], key=lambda o: o["OutputKey"]):
        out(f"  {output['OutputKey']} = {output['OutputValue']}")
