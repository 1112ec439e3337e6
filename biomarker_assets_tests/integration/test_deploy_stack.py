"""The CloudFormation stack and `biomarker-assets deploy`: cfn-lint, IAM scope, and real deploys into moto.

moto's CloudFormation creates the buckets (with their encryption), queues (with redrive),
table, log group, security groups, DB subnet group, IAM roles and policies, ECS cluster,
task definitions and services. Only real AWS can verify:

- ``Database`` (RDS PostgreSQL) and ``DatabaseSecretAccess``: moto ignores
  ``ManageMasterUserPassword`` and cannot resolve ``Database.MasterUserSecret.SecretArn``,
  so the tests deploy with ``DeployToMoto=true``, which leaves out exactly these two;
- ``EventsQueuePolicy``: moto has no ``AWS::SQS::QueuePolicy`` and skips it (it stays
  unconditional because the study bucket depends on it);
- properties moto's CloudFormation drops: the buckets' public access block, versioning,
  ownership and S3 -> SQS notification; security-group egress; task roles, network mode,
  Fargate compatibility and task-level CPU/memory; services' launch type and network;
  the table's point-in-time recovery; the cluster's settings. Those are asserted on the
  template here instead.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import urllib.request
from pathlib import Path

import pytest

from biomarker_assets.cli import main
from biomarker_assets.deploy import check_parameters, load_environment, load_template
from biomarker_assets.deploy.stack import FARGATE_PAIRS, TEMPLATE, fargate_parameter_problems
from biomarker_assets.platform.fargate import FARGATE_SIZES
from biomarker_assets.resources.aws import aws_client

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/biomarker-assets:test-1"
RESOURCE_BINDINGS = Path(__file__).resolve().parents[2] / "biomarker_assets" / "defs" / "resources.py"
TEMPLATE_BUCKET = "deploy-templates"
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}


# ------------------------------------------------------------------ policy reading


def _resolve(value, params: dict[str, str]):
    """Enough of CloudFormation's intrinsics to read policy ARNs; GetAtt stays an opaque marker."""
    if isinstance(value, list):
        return [_resolve(v, params) for v in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        return params.get(value["Ref"], PSEUDO.get(value["Ref"], f"<Ref {value['Ref']}>"))
    if "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        names = {**PSEUDO, **params}
        return re.sub(r"\$\{([^}!]+)\}", lambda m: names.get(m.group(1), f"<{m.group(1)}>"), text)
    if "Fn::GetAtt" in value:
        return f"<GetAtt {'.'.join(value['Fn::GetAtt'])}>"
    if "Fn::If" in value:
        return [_resolve(value["Fn::If"][1], params), _resolve(value["Fn::If"][2], params)]
    return {k: _resolve(v, params) for k, v in value.items()}


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def grants(statement: dict, action: str) -> bool:
    """Whether an Allow statement's Action/NotAction covers ``action`` (IAM matching: case-insensitive, wildcards)."""
    if statement.get("Effect") != "Allow":
        return False
    if "NotAction" in statement:
        return not any(fnmatch.fnmatch(action.lower(), p.lower()) for p in _as_list(statement["NotAction"]))
    return any(fnmatch.fnmatch(action.lower(), p.lower()) for p in _as_list(statement.get("Action", [])))


def put_object_outside(statements: list[dict], locations: list[tuple[str, str]]) -> list[str]:
    """Every resource on which these statements allow s3:PutObject that is not under one s3://bucket/prefix."""
    allowed = [f"arn:aws:s3:::{bucket}/{prefix}" for bucket, prefix in locations]
    bad = []
    for statement in statements:
        if not grants(statement, "s3:PutObject"):
            continue
        if "NotResource" in statement:
            bad.append(f"NotResource {statement['NotResource']}")
        for resource in _as_list(statement.get("Resource", [])):
            # a wildcard before the prefix ends (arn:aws:s3:::*, .../res*) could reach other keys
            if not (
                isinstance(resource, str)
                and any(resource.startswith(a) and "*" not in resource[: len(a)] for a in allowed)
            ):
                bad.append(str(resource))
    return bad


def write_locations(params: dict[str, str]) -> list[tuple[str, str]]:
    """Where runs may write: results, and Dagster's step logs (container/dagster.yaml's S3ComputeLogManager)."""
    return [
        (params["ResultsBucketName"], params["ResultsPrefix"]),
        (params["ComputeLogBucketName"], "dagster-compute-logs/"),
    ]


def template_statements_of_role(template: dict, role: str, params: dict[str, str]) -> list[dict]:
    """All statements that apply to ``role``: its inline policies and every policy resource attached to it."""
    resources = template["Resources"]
    props = resources[role]["Properties"]
    assert not props.get("ManagedPolicyArns"), f"{role} has managed policies the template cannot show"
    documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
    documents += [
        r["Properties"]["PolicyDocument"]
        for r in resources.values()
        if r["Type"] in {"AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"}
        and {"Ref": role} in r["Properties"].get("Roles", [])
    ]
    return [_resolve(s, params) for doc in documents for s in doc["Statement"]]


UI = {
    "UiHostName": "dagster.example.org",
    "UiCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
    "UiAuthDomainPrefix": "biomarker-test",
}
NETWORK = {"VpcCidr": "10.20.0.0/16", "S3PrefixListId": "pl-63a5400a", "DynamoDbPrefixListId": "pl-02cd2c6b"}


def _env_params(env: str) -> dict[str, str]:
    overrides = {
        "VpcId": "vpc-1",
        "PrivateSubnetIds": "subnet-1,subnet-2",
        "PrivateRouteTableIds": "rtb-1",
        **UI,
        **NETWORK,
    }
    return load_environment(env, image=IMAGE, overrides=overrides).parameters


# ------------------------------------------------------------------ template only


def test_cfn_lint_reports_no_errors():
    from cfnlint.api import lint_file

    matches = lint_file(TEMPLATE)
    for match in matches:
        print(f"cfn-lint {match.rule.id} line {match.linenumber}: {match.message}")
    errors = [m for m in matches if m.rule.id.startswith("E")]
    assert errors == [], [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in errors]


@pytest.mark.parametrize("env", ["dev", "stage", "prod"])
def test_run_task_role_can_put_objects_only_under_the_results_prefix(env):
    template = load_template()
    params = _env_params(env)
    statements = template_statements_of_role(template, "RunTaskRole", params)
    put = [r for s in statements if grants(s, "s3:PutObject") for r in _as_list(s["Resource"])]
    assert f"arn:aws:s3:::{params['ResultsBucketName']}/{params['ResultsPrefix']}*" in put
    assert put_object_outside(statements, write_locations(params)) == []
    assert not [r for r in put if params["StudyBucketName"] in r or params["ConfigBucketName"] in r]
    # nothing grants broader write-like S3 actions either
    for action in ["s3:DeleteObject", "s3:PutBucketPolicy", "s3:PutObjectAcl"]:
        assert not [s for s in statements if grants(s, action)], action


def test_put_object_check_catches_a_widened_policy():
    """The check above is not vacuous: the same check flags wildcards and other buckets."""
    template = load_template()
    params = _env_params("dev")
    doc = template["Resources"]["RunDataPolicy"]["Properties"]["PolicyDocument"]
    doc["Statement"].append(
        {"Effect": "Allow", "Action": "s3:Put*", "Resource": "arn:aws:s3:::biomarker-study-data-dev/raw/*"}
    )
    doc["Statement"].append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    doc["Statement"].append(
        {"Effect": "Allow", "NotAction": "sqs:*", "Resource": "arn:aws:s3:::biomarker-results-dev/res*"}
    )
    bad = put_object_outside(template_statements_of_role(template, "RunTaskRole", params), write_locations(params))
    assert bad == ["arn:aws:s3:::biomarker-study-data-dev/raw/*", "*", "arn:aws:s3:::biomarker-results-dev/res*"]


def test_service_role_passes_only_the_run_roles_and_runs_only_the_run_family():
    template = load_template()
    statements = template_statements_of_role(template, "ServiceTaskRole", _env_params("prod"))
    passes = [s for s in statements if grants(s, "iam:PassRole")]
    assert [r for s in passes for r in s["Resource"]] == [
        "<GetAtt RunTaskRole.Arn>",
        "<GetAtt IndexRunTaskRole.Arn>",
        "<GetAtt TaskExecutionRole.Arn>",
    ]
    run = [s for s in statements if grants(s, "ecs:RunTask")]
    assert [s["Resource"] for s in run] == [
        "arn:aws:ecs:us-east-1:123456789012:task-definition/biomarker-assets-run-prod:*"
    ]
    assert all("ecs:cluster" in s["Condition"]["ArnEquals"] for s in run)


def test_buckets_are_encrypted_and_private_and_containers_sized_for_fargate():
    resources = load_template()["Resources"]
    buckets = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::S3::Bucket"}
    assert set(buckets) == {"ConfigBucket", "StudyBucket", "ResultsBucket", "ComputeLogBucket", "AccessLogBucket"}
    for name, props in buckets.items():
        rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}, name
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, name
    # the deployment names defs/resources.py binds (its optional tunables keep their defaults)
    settings_vars = {
        "BIOMARKER_CONFIG_BUCKET",
        "BIOMARKER_CONFIG_PREFIX",
        "BIOMARKER_NOTIFICATION_QUEUE",
        "BIOMARKER_METADATA_TABLE",
        "BIOMARKER_IMAGE",
    }
    assert settings_vars <= set(re.findall(r'="(BIOMARKER_[A-Z_]+)"', RESOURCE_BINDINGS.read_text()))
    task_defs = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::ECS::TaskDefinition"}
    # the one-off db-bootstrap task runs no Dagster code and has no task role
    assert task_defs.pop("DbBootstrapTaskDefinition").get("TaskRoleArn") is None
    assert set(task_defs) == {"WebserverTaskDefinition", "DaemonTaskDefinition", "RunTaskDefinition"}
    for name, props in task_defs.items():
        assert props["RequiresCompatibilities"] == ["FARGATE"] and props["NetworkMode"] == "awsvpc", name
        for container in props["ContainerDefinitions"]:
            assert "Cpu" in container and "Memory" in container, name
            env_names = {e["Name"] for e in container["Environment"]}
            assert settings_vars | {"AWS_REGION"} <= env_names, (name, settings_vars - env_names)
    for name in ["WebserverService", "DaemonService"]:
        assert resources[name]["Properties"]["LaunchType"] == "FARGATE"
    assert resources["DaemonService"]["Properties"]["DeploymentConfiguration"]["MaximumPercent"] == 100


def test_parameters_are_checked_before_any_aws_call():
    defaults = load_environment("dev").parameters
    problems = check_parameters(defaults)
    assert [p.split(":")[0] for p in problems] == [
        "ImageUri",
        "VpcId",
        "VpcCidr",
        "PrivateSubnetIds",
        "S3PrefixListId",
        "DynamoDbPrefixListId",
        "UiHostName",
        "UiCertificateArn",
        "UiAuthDomainPrefix",
        "PrivateRouteTableIds",
    ]
    for env in ["dev", "stage", "prod"]:
        assert check_parameters(_env_params(env)) == [], env
    bad = {**_env_params("dev"), "RunTaskCpu": "512", "RunTaskMemory": "8192", "Environment": "qa", "Nope": "1"}
    problems = check_parameters(bad)
    assert "Nope: not a parameter of the template" in problems
    assert any(p.startswith("Environment: 'qa' is not one of") for p in problems)
    assert "RunTaskCpu/RunTaskMemory: Fargate cannot run 512 CPU units with 8192 MiB" in problems


def test_template_sizes_come_from_the_one_fargate_table():
    """The template's CPU choices and memory bounds are platform.fargate's; a drift on either side fails."""
    assert fargate_parameter_problems() == []
    declared = load_template()["Parameters"]
    assert [int(v) for v in declared["RunTaskCpu"]["AllowedValues"]] == sorted(FARGATE_SIZES)  # runs: every size
    for cpu_key, memory_key in FARGATE_PAIRS:
        assert declared[cpu_key]["Type"] == "String" and declared[memory_key]["Type"] == "Number"
    drifted = load_template()
    drifted["Parameters"]["RunTaskMemory"]["MaxValue"] = 131072
    drifted["Parameters"]["WebserverCpu"]["AllowedValues"].append("3072")
    assert fargate_parameter_problems(drifted) == [
        "WebserverCpu: 3072 not among Fargate's CPU sizes [256, 512, 1024, 2048, 4096, 8192, 16384]",
        "RunTaskMemory: 512-131072 MiB, but RunTaskCpu's sizes allow 512-122880",
    ]


def test_deploy_refuses_missing_parameters_without_calling_aws(capsys):
    # no endpoint or credentials are needed: the command stops at the parameter check
    assert main(["deploy", "--env", "prod"]) == 1
    out = capsys.readouterr().out
    assert "11 problem(s) with the parameters of prod" in out and "VpcId: needs a value" in out
    assert "pass --template-bucket BUCKET" in out  # the template is over CloudFormation's inline limit


def test_deploy_refuses_a_world_open_ui_in_every_environment(capsys):
    """0.0.0.0/0 (and anything wider than /8) is refused by deploy before any AWS call, and by the template."""
    for env in ["dev", "stage", "prod"]:
        for cidr in ["0.0.0.0/0", "::/0", "0.0.0.0/1"]:
            problems = check_parameters({**_env_params(env), "WebserverIngressCidr": cidr})
            assert any(p.startswith("WebserverIngressCidr:") for p in problems), (env, cidr)
        assert check_parameters({**_env_params(env), "WebserverIngressCidr": "10.40.0.0/16"}) == [], env
    assert main(["deploy", "--env", "prod", "--parameter", "WebserverIngressCidr=0.0.0.0/0"]) == 1
    assert "WebserverIngressCidr: 0.0.0.0/0 is world-open" in capsys.readouterr().out
    template = load_template()
    [assertion] = template["Rules"]["UiIsNeverWorldOpen"]["Assertions"]
    assert assertion["Assert"] == {
        "Fn::Not": [{"Fn::Contains": [["0.0.0.0/0", "::/0"], {"Ref": "WebserverIngressCidr"}]}]
    }
    pattern = template["Parameters"]["WebserverIngressCidr"]["AllowedPattern"]
    assert not re.fullmatch(pattern, "0.0.0.0/0") and re.fullmatch(pattern, "10.0.0.0/8")


# ------------------------------------------------------------------ deploys into moto


@pytest.fixture
def fresh_moto(moto_url):
    """An empty moto (the stack creates the project's resources itself) plus a VPC with two subnets."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).read()
    ec2 = aws_client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"][
            "SubnetId"
        ]
        for i, az in [(1, "a"), (2, "b")]
    ]
    route_tables = [t["RouteTableId"] for t in ec2.describe_route_tables()["RouteTables"] if t["VpcId"] == vpc]
    aws_client("s3").create_bucket(Bucket=TEMPLATE_BUCKET)
    values = {
        "VpcId": vpc,
        "PrivateSubnetIds": ",".join(subnets),
        "PrivateRouteTableIds": ",".join(route_tables),
        "DeployToMoto": "true",
        **UI,
    }
    args = ["deploy", "--env", "dev", "--image", IMAGE, "--template-bucket", TEMPLATE_BUCKET]
    return args + [a for key, value in values.items() for a in ("--parameter", f"{key}={value}")]


def _stack():
    return aws_client("cloudformation").describe_stacks(StackName="biomarker-assets-dev")["Stacks"][0]


def _outputs() -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in _stack()["Outputs"]}


def _container(family: str) -> dict:
    return aws_client("ecs").describe_task_definition(taskDefinition=family)["taskDefinition"]["containerDefinitions"][
        0
    ]


def test_dry_run_validates_and_prints_without_creating(fresh_moto, capsys):
    assert main([*fresh_moto, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"ImageUri = {IMAGE}" in out and "would create biomarker-assets-dev" in out
    assert aws_client("cloudformation").list_stacks()["StackSummaries"] == []
    assert [b["Name"] for b in aws_client("s3").list_buckets()["Buckets"]] == [TEMPLATE_BUCKET]


def test_deploy_creates_the_stack_in_moto(fresh_moto, capsys):
    assert main(fresh_moto) == 0
    out = capsys.readouterr().out
    assert _stack()["StackStatus"] == "CREATE_COMPLETE"
    outputs = _outputs()
    assert f"ClusterName = {outputs['ClusterName']}" in out
    assert outputs["ClusterName"] == "biomarker-assets-dev"
    assert outputs["RunTaskDefinitionFamily"] == "biomarker-assets-run-dev" and outputs["RunContainerName"] == "run"
    assert "DatabaseEndpoint" not in outputs  # DeployToMoto leaves the database out
    # deploy looked up what the tasks' egress rules name: the VPC's CIDR and the region's prefix lists
    params = {p["ParameterKey"]: p["ParameterValue"] for p in _stack()["Parameters"]}
    assert params["VpcCidr"] == "10.20.0.0/16"
    prefix_lists = aws_client("ec2").describe_managed_prefix_lists()["PrefixLists"]
    by_name = {pl["PrefixListName"]: pl["PrefixListId"] for pl in prefix_lists}
    assert params["S3PrefixListId"] == by_name["com.amazonaws.us-east-1.s3"]
    assert params["DynamoDbPrefixListId"] == by_name["com.amazonaws.us-east-1.dynamodb"]
    endpoints = aws_client("ec2").describe_vpc_endpoints()["VpcEndpoints"]
    assert sorted(e["ServiceName"].removeprefix("com.amazonaws.us-east-1.") for e in endpoints) == [
        "dynamodb",
        "ecr.api",
        "ecr.dkr",
        "ecs",
        "logs",
        "s3",
        "secretsmanager",
        "sqs",
    ]

    s3 = aws_client("s3")
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert buckets == {
        "biomarker-study-configs-dev",
        "biomarker-study-data-dev",
        "biomarker-results-dev",
        "biomarker-dagster-logs-dev",
        "biomarker-access-logs-dev",
        TEMPLATE_BUCKET,
    }
    for bucket in buckets - {TEMPLATE_BUCKET}:
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"

    sqs = aws_client("sqs")
    dlq_url = sqs.get_queue_url(QueueName="biomarker-dead-letters-dev")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for name in ["biomarker-notifications-dev", "biomarker-s3-events-dev"]:
        attrs = sqs.get_queue_attributes(
            QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"], AttributeNames=["All"]
        )["Attributes"]
        assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}, name
        assert attrs["SqsManagedSseEnabled"] == "true"

    table = aws_client("dynamodb").describe_table(TableName="biomarker-subject-metadata-dev")["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": "study", "KeyType": "HASH"},
        {"AttributeName": "subject", "KeyType": "RANGE"},
    ]
    assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == {
        "study": "S",
        "subject": "S",
    }
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"

    log_group = aws_client("logs").describe_log_groups(logGroupNamePrefix="/biomarker-assets/dev")["logGroups"][0]
    assert log_group["retentionInDays"] == 14

    ecs = aws_client("ecs")
    assert ecs.describe_clusters(clusters=["biomarker-assets-dev"])["clusters"][0]["status"] == "ACTIVE"
    run = _container("biomarker-assets-run-dev")
    assert (run["name"], run["image"], run["cpu"], run["memory"]) == ("run", IMAGE, 1024, 4096)
    env = {e["name"]: e["value"] for e in run["environment"]}
    assert (
        env["BIOMARKER_CONFIG_BUCKET"] == "biomarker-study-configs-dev" and env["BIOMARKER_CONFIG_PREFIX"] == "studies/"
    )
    assert env["BIOMARKER_NOTIFICATION_QUEUE"] == "biomarker-notifications-dev"
    assert env["BIOMARKER_METADATA_TABLE"] == "biomarker-subject-metadata-dev"
    assert env["BIOMARKER_IMAGE"] == IMAGE and env["AWS_REGION"] == "us-east-1"
    assert run["logConfiguration"]["options"]["awslogs-group"] == "/biomarker-assets/dev"
    assert _container("biomarker-assets-webserver-dev")["command"] == [
        "dagster-webserver",
        "-h",
        "0.0.0.0",
        "-p",
        "3000",
        "-w",
        "workspace.yaml",
    ]
    assert _container("biomarker-assets-daemon-dev")["command"] == ["dagster-daemon", "run"]
    services = ecs.describe_services(cluster="biomarker-assets-dev", services=["webserver", "daemon"])["services"]
    assert {s["serviceName"]: s["desiredCount"] for s in services} == {"webserver": 1, "daemon": 1}
    assert env["BIOMARKER_COMPUTE_LOG_BUCKET"] == "biomarker-dagster-logs-dev"

    ec2 = aws_client("ec2")
    groups = {g["Description"].split(",")[0]: g for g in ec2.describe_security_groups()["SecurityGroups"]}
    task_sg = groups["Dagster webserver"]["GroupId"]
    db_rules = groups["Dagster PostgreSQL"]["IpPermissions"]
    assert [(r["FromPort"], [p["GroupId"] for p in r["UserIdGroupPairs"]], r["IpRanges"]) for r in db_rules] == [
        (5432, [task_sg], [])
    ]

    # the resolved policies in IAM: the run role writes only under the results prefix
    iam = aws_client("iam")
    role = outputs["RunTaskRoleArn"].rsplit("/", 1)[1]
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["never-sensor-state"]
    inline = iam.get_role_policy(RoleName=role, PolicyName="never-sensor-state")["PolicyDocument"]
    if isinstance(inline, str):  # moto's CloudFormation stores an inline role policy as a Python repr
        inline = ast.literal_eval(inline)
    assert [(s["Effect"], s["Resource"]) for s in inline["Statement"]] == [
        ("Deny", "arn:aws:s3:::biomarker-results-dev/results/*_catalog/*")
    ]
    statements = []
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)["PolicyVersion"][
            "Document"
        ]
        statements += (json.loads(document) if isinstance(document, str) else document)["Statement"]
    assert sorted(r for s in statements if grants(s, "s3:PutObject") for r in _as_list(s["Resource"])) == [
        "arn:aws:s3:::biomarker-dagster-logs-dev/dagster-compute-logs/*",
        "arn:aws:s3:::biomarker-results-dev/results/*",
    ]
    assert (
        put_object_outside(
            statements, [("biomarker-results-dev", "results/"), ("biomarker-dagster-logs-dev", "dagster-compute-logs/")]
        )
        == []
    )
    assert [r for s in statements if grants(s, "s3:GetObjectVersion") for r in _as_list(s["Resource"])] == [
        "arn:aws:s3:::biomarker-study-data-dev/raw/*"
    ]


def test_code_location_works_against_the_deployed_names(fresh_moto):
    """The resources, configured from the run container's environment, use what the stack created."""
    from biomarker_assets.local.aws_standin import drain_messages
    from biomarker_assets.resources.metadata_table import MetadataTable
    from biomarker_assets.resources.notifier import Kind, Notifier
    from biomarker_assets.resources.study_store import StudyStore

    assert main(fresh_moto) == 0
    env = {e["name"]: e["value"] for e in _container("biomarker-assets-run-dev")["environment"]}
    table = MetadataTable(table_name=env["BIOMARKER_METADATA_TABLE"])
    table.put_subjects("demo", [{"subject": "007", "height": 1.88}])
    assert table.get_subject("demo", "007") == {"study": "demo", "subject": "007", "height": 1.88}
    Notifier(queue_name=env["BIOMARKER_NOTIFICATION_QUEUE"]).send(Kind.MISSING_CONFIG, "demo", None, "no config")
    queue_url = aws_client("sqs").get_queue_url(QueueName=env["BIOMARKER_NOTIFICATION_QUEUE"])["QueueUrl"]
    assert [m["kind"] for m in drain_messages(queue_url)] == ["missing_config"]
    store = StudyStore(config_bucket=env["BIOMARKER_CONFIG_BUCKET"], config_prefix=env["BIOMARKER_CONFIG_PREFIX"])
    aws_client("s3").put_object(
        Bucket=store.config_bucket, Key=f"{store.config_prefix}demo.yaml", Body=b"study: demo\n"
    )
    assert list(store.config_studies()) == [("demo", "studies/demo.yaml")]


def test_deploy_again_without_changes_succeeds_and_changes_nothing(fresh_moto, capsys):
    assert main(fresh_moto) == 0
    before = aws_client("ecs").describe_task_definition(taskDefinition="biomarker-assets-run-dev")["taskDefinition"][
        "revision"
    ]
    capsys.readouterr()
    assert main(fresh_moto) == 0
    out = capsys.readouterr().out
    # AWS answers "No updates are to be performed" (handled as success); moto instead runs an
    # update that touches no resource, because it compares list/number parameters as parsed values
    assert "is up to date: no changes" in out or "updated: UPDATE_COMPLETE" in out
    assert _stack()["StackStatus"] in {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
    after = aws_client("ecs").describe_task_definition(taskDefinition="biomarker-assets-run-dev")["taskDefinition"][
        "revision"
    ]
    assert after == before == 1
    assert "ClusterName = biomarker-assets-dev" in out


def test_no_updates_answer_is_success(fresh_moto, capsys, monkeypatch):
    """CloudFormation's own "nothing to update" error (as AWS sends it) ends the deploy with status 0."""
    from botocore.exceptions import ClientError

    assert main(fresh_moto) == 0
    capsys.readouterr()
    cfn = aws_client("cloudformation")

    def no_updates(**kwargs):
        raise ClientError(
            {"Error": {"Code": "ValidationError", "Message": "No updates are to be performed."}}, "UpdateStack"
        )

    monkeypatch.setattr(cfn, "update_stack", no_updates)
    assert main(fresh_moto) == 0
    out = capsys.readouterr().out
    assert "biomarker-assets-dev is up to date: no changes" in out and "RunContainerName = run" in out


def test_changed_parameter_updates_the_stack(fresh_moto, capsys):
    assert main(fresh_moto) == 0
    assert main([*fresh_moto, "--parameter", "DaemonDesiredCount=0", "--parameter", "WebserverDesiredCount=2"]) == 0
    assert "updated: UPDATE_COMPLETE" in capsys.readouterr().out
    assert _stack()["StackStatus"] == "UPDATE_COMPLETE"
    params = {p["ParameterKey"]: p["ParameterValue"] for p in _stack()["Parameters"]}
    assert params["DaemonDesiredCount"] == "0"
    services = aws_client("ecs").describe_services(cluster="biomarker-assets-dev", services=["webserver", "daemon"])[
        "services"
    ]
    assert {s["serviceName"]: s["desiredCount"] for s in services} == {"webserver": 2, "daemon": 0}
