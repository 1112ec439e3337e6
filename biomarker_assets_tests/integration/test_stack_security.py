"""The deployed stack's security model, read from the template (moto enforces no IAM, policy or network rule).

What a run, the webserver and the daemon may do is evaluated like IAM does (an explicit Deny wins
over any Allow; wildcards in actions and ARNs), so a widened statement fails here, not in an audit.
"""

from __future__ import annotations

import fnmatch

import dagster as dg
import pytest
from dagster_aws.ecs.container_context import EcsContainerContext

from biomarker_assets.deploy import load_template
from biomarker_assets.platform.run_sizing import INDEX_ROLE_VARIABLE, SizedEcsRunLauncher, task_role_for_run
from biomarker_assets_tests.integration.test_deploy_stack import _as_list, _env_params, template_statements_of_role

PARAMS = _env_params("prod")
RESULTS = f"arn:aws:s3:::{PARAMS['ResultsBucketName']}/results"
CATALOG = f"{RESULTS}/study-a/_catalog/catalog.parquet"
RESULT = f"{RESULTS}/study-a/gait/1.0-abc/raw/study-a/s1.cwa/provenance.json"
STUDY_FILE = f"arn:aws:s3:::{PARAMS['StudyBucketName']}/raw/study-a/s1.cwa"
CONFIG = f"arn:aws:s3:::{PARAMS['ConfigBucketName']}/studies/study-a.yaml"
STEP_LOG = f"arn:aws:s3:::{PARAMS['ComputeLogBucketName']}/dagster-compute-logs/run/step.out"
TABLE = "<GetAtt MetadataTable.Arn>"
EVENTS = "<GetAtt EventsQueue.Arn>"
NOTIFICATIONS = "<GetAtt NotificationQueue.Arn>"


def _matches(patterns, value: str) -> bool:
    return any(fnmatch.fnmatchcase(value, str(p)) for p in _as_list(patterns))


def allowed(statements: list[dict], action: str, resource: str) -> bool:
    """IAM's decision for one action on one resource: some Allow matches and no Deny does."""

    def hits(s: dict) -> bool:
        return _matches([a.lower() for a in _as_list(s["Action"])], action.lower()) and _matches(
            s["Resource"], resource
        )

    return any(s["Effect"] == "Allow" and hits(s) for s in statements) and not any(
        s["Effect"] == "Deny" and hits(s) for s in statements
    )


def role(name: str, template: dict | None = None) -> list[dict]:
    return template_statements_of_role(template or load_template(), name, PARAMS)


def test_runs_read_study_data_write_results_and_never_sensor_state_or_the_events_queue():
    run = role("RunTaskRole")
    assert allowed(run, "s3:GetObject", STUDY_FILE) and allowed(run, "s3:GetObjectVersion", STUDY_FILE)
    assert allowed(run, "s3:GetObject", CONFIG) and allowed(run, "s3:PutObject", RESULT)
    assert allowed(run, "s3:PutObject", STEP_LOG)
    assert not allowed(run, "s3:PutObject", CATALOG), "a run could rewrite the listing sensor's state"
    assert not allowed(run, "s3:PutObject", STUDY_FILE) and not allowed(run, "s3:PutObject", CONFIG)
    assert not allowed(run, "s3:GetObject", f"arn:aws:s3:::{PARAMS['StudyBucketName']}/other/x")
    for action in ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage"]:
        assert not allowed(run, action, EVENTS), action
    assert allowed(run, "sqs:SendMessage", NOTIFICATIONS)
    assert allowed(run, "dynamodb:GetItem", TABLE)
    for action in ["dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem"]:
        assert not allowed(run, action, TABLE), action
    assert not [s for s in run if s["Effect"] == "Allow" and _matches(s["Action"], "secretsmanager:GetSecretValue")]


def test_index_runs_add_exactly_the_catalog_and_metadata_writes():
    index = role("IndexRunTaskRole")
    assert allowed(index, "s3:PutObject", CATALOG) and allowed(index, "dynamodb:BatchWriteItem", TABLE)
    assert not allowed(index, "sqs:ReceiveMessage", EVENTS)
    assert not allowed(index, "s3:PutObject", STUDY_FILE)


def test_the_catalog_check_fails_without_the_deny():
    """Non-vacuous: drop RunTaskRole's Deny and the same evaluation lets a run write the catalog."""
    template = load_template()
    template["Resources"]["RunTaskRole"]["Properties"]["Policies"] = []
    assert allowed(role("RunTaskRole", template), "s3:PutObject", CATALOG)


def test_webserver_has_its_own_role_without_launching_passing_roles_or_data():
    resources = load_template()["Resources"]
    assert resources["WebserverTaskDefinition"]["Properties"]["TaskRoleArn"] == {
        "Fn::GetAtt": ["WebserverTaskRole", "Arn"]
    }
    assert resources["DaemonTaskDefinition"]["Properties"]["TaskRoleArn"] == {"Fn::GetAtt": ["ServiceTaskRole", "Arn"]}
    web = role("WebserverTaskRole")
    assert allowed(web, "s3:GetObject", STEP_LOG) and allowed(
        web, "ecs:StopTask", "arn:aws:ecs:us-east-1:123456789012:task/<Cluster>/x"
    )
    for action, resource in [
        ("ecs:RunTask", "*"),
        ("ecs:RegisterTaskDefinition", "*"),
        ("iam:PassRole", "<GetAtt RunTaskRole.Arn>"),
        ("s3:GetObject", STUDY_FILE),
        ("s3:GetObject", RESULT),
        ("s3:PutObject", STEP_LOG),
        ("sqs:SendMessage", NOTIFICATIONS),
        ("dynamodb:GetItem", TABLE),
    ]:
        assert not allowed(web, action, resource), action
    daemon = role("ServiceTaskRole")
    assert allowed(daemon, "sqs:ReceiveMessage", EVENTS) and allowed(daemon, "s3:PutObject", CATALOG)
    # a sensor's message with SQS down is kept in the config bucket (resources/notifier.py), never over a config
    undelivered = f"arn:aws:s3:::{PARAMS['ConfigBucketName']}/_undelivered_notices/n.json"
    assert allowed(daemon, "s3:PutObject", undelivered) and not allowed(daemon, "s3:PutObject", CONFIG)


def test_tasks_log_in_as_the_app_user_and_only_the_bootstrap_reads_the_master_secret():
    template = load_template()
    resources = template["Resources"]
    for name in ["WebserverTaskDefinition", "DaemonTaskDefinition", "RunTaskDefinition"]:
        [container] = resources[name]["Properties"]["ContainerDefinitions"]
        env = {e["Name"]: e["Value"] for e in container["Environment"]}
        assert env["DAGSTER_POSTGRES_USER"] == "dagster_app", name
        [secret] = container["Secrets"]["Fn::If"][1]
        assert secret == {
            "Name": "DAGSTER_POSTGRES_PASSWORD",
            "ValueFrom": {"Fn::Sub": "${DatabaseAppSecret}:password::"},
        }
    readers = {
        name
        for name, r in resources.items()
        if r["Type"] in {"AWS::IAM::Role", "AWS::IAM::Policy"} and "MasterUserSecret" in str(r["Properties"])
    }
    assert readers == {"DbBootstrapExecutionRole"}
    bootstrap = resources["DbBootstrapTaskDefinition"]["Properties"]
    assert "TaskRoleArn" not in bootstrap and bootstrap["ExecutionRoleArn"] == {
        "Fn::GetAtt": ["DbBootstrapExecutionRole", "Arn"]
    }
    # the services start only after the app user exists (and the webserver after its listener)
    for service in ["WebserverService", "DaemonService"]:
        assert "DbAppUser" in str(resources[service]["Properties"]["Tags"]), service


def test_every_bucket_is_tls_only_refuses_other_encryption_and_is_access_logged():
    resources = load_template()["Resources"]
    buckets = [k for k, r in resources.items() if r["Type"] == "AWS::S3::Bucket"]
    policies = {
        r["Properties"]["Bucket"]["Ref"]: r["Properties"]["PolicyDocument"]["Statement"]
        for r in resources.values()
        if r["Type"] == "AWS::S3::BucketPolicy"
    }
    assert set(policies) == set(buckets)
    for bucket in buckets:
        statements = {s["Sid"]: s for s in policies[bucket]}
        tls = statements["TlsOnly"]
        assert (tls["Effect"], tls["Action"], tls["Condition"]) == (
            "Deny",
            "s3:*",
            {"Bool": {"aws:SecureTransport": "false"}},
        )
        assert len(tls["Resource"]) == 2, bucket  # the bucket and its objects
        if bucket == "AccessLogBucket":
            continue
        other = statements["OnlyTheBucketsEncryptionOnPut"]["Condition"]
        assert other == {
            "Null": {"s3:x-amz-server-side-encryption": "false"},
            "StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"},
        }
        assert statements["NoCustomerProvidedKeys"]["Effect"] == "Deny"
        logging = resources[bucket]["Properties"]["LoggingConfiguration"]
        assert logging["DestinationBucketName"] == {"Ref": "AccessLogBucket"}, bucket


def test_every_queue_refuses_plain_http():
    resources = load_template()["Resources"]
    queues = {k for k, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    covered = set()
    for r in resources.values():
        if r["Type"] != "AWS::SQS::QueuePolicy":
            continue
        for s in r["Properties"]["PolicyDocument"]["Statement"]:
            if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}:
                assert s["Action"] == "sqs:*" and s["Principal"] == "*"
                covered |= {q["Ref"] for q in r["Properties"]["Queues"]}
    assert covered == queues == {"DeadLetterQueue", "NotificationQueue", "EventsQueue"}


def test_tasks_reach_only_vpc_endpoints_and_the_database():
    template = load_template()
    resources = template["Resources"]
    egress = resources["TaskSecurityGroup"]["Properties"]["SecurityGroupEgress"]
    assert all(rule["FromPort"] == rule["ToPort"] == 443 for rule in egress)
    destinations = [rule.get("CidrIp") or rule.get("DestinationPrefixListId") for rule in egress]
    assert destinations == [{"Ref": "VpcCidr"}, {"Ref": "S3PrefixListId"}, {"Ref": "DynamoDbPrefixListId"}]
    database = resources["TaskToDatabaseEgress"]["Properties"]
    assert (database["FromPort"], database["DestinationSecurityGroupId"]) == (
        5432,
        {"Fn::GetAtt": ["DatabaseSecurityGroup", "GroupId"]},
    )
    # a security group without egress rules allows everything; the task's other groups allow nothing
    for group in ["WebserverSecurityGroup", "DatabaseSecurityGroup", "EndpointSecurityGroup"]:
        assert [r["CidrIp"] for r in resources[group]["Properties"]["SecurityGroupEgress"]] == ["127.0.0.1/32"], group
    assert template["Parameters"]["AssignPublicIp"]["AllowedValues"] == ["DISABLED"]
    services = {
        r["Properties"]["ServiceName"]["Fn::Sub"].removeprefix("com.amazonaws.${AWS::Region}.")
        for r in resources.values()
        if r["Type"] == "AWS::EC2::VPCEndpoint"
    }
    assert services == {"s3", "dynamodb", "sqs", "ecr.api", "ecr.dkr", "ecs", "logs", "secretsmanager"}


def test_the_ui_is_https_behind_cognito_sign_in_and_the_webserver_only_reachable_through_it():
    resources = load_template()["Resources"]
    listener = resources["UiListener"]["Properties"]
    assert (listener["Protocol"], listener["Port"]) == ("HTTPS", 443)
    first, second = sorted(listener["DefaultActions"], key=lambda a: a["Order"])
    assert (
        first["Type"] == "authenticate-cognito"
        and first["AuthenticateCognitoConfig"]["OnUnauthenticatedRequest"] == "authenticate"
    )
    assert second == {"Type": "forward", "Order": 2, "TargetGroupArn": {"Ref": "UiTargetGroup"}}
    pool = resources["UiUserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True} and pool["MfaConfiguration"] == "ON"
    [web_in] = resources["WebserverSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert web_in["SourceSecurityGroupId"] == {"Fn::GetAtt": ["UiLoadBalancerSecurityGroup", "GroupId"]}
    [ui_in] = resources["UiLoadBalancerSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert (ui_in["FromPort"], ui_in["CidrIp"]) == (443, {"Ref": "WebserverIngressCidr"})


def _run(job_name: str, assets: list[str], tags: dict[str, str] | None = None) -> dg.DagsterRun:
    return dg.DagsterRun(job_name=job_name, asset_selection=frozenset(dg.AssetKey(a) for a in assets), tags=tags or {})


@pytest.mark.parametrize(
    ("job", "assets", "index"),
    [
        ("catalog_study", ["study_catalog"], True),
        ("clean_metadata_file", ["subject_metadata"], True),
        ("__ASSET_JOB", ["study_catalog"], True),
        ("process_data_file", ["file_biomarkers"], False),
        ("summarize_study", ["study_summary"], False),
        ("discover_studies", ["study_configs"], False),
    ],
)
def test_launcher_gives_only_catalog_and_metadata_runs_the_index_role(monkeypatch, job, assets, index):
    monkeypatch.setenv(INDEX_ROLE_VARIABLE, "arn:aws:iam::123456789012:role/index")
    launcher = object.__new__(SizedEcsRunLauncher)  # only the override logic; no ECS client
    # an `ecs/task_overrides` tag (anyone launching from the UI can set one) cannot choose a role
    tag = '{"taskRoleArn": "arn:aws:iam::123456789012:role/daemon", "ephemeralStorage": {"sizeInGiB": 30}}'
    run = _run(job, assets, {"ecs/task_overrides": tag})
    overrides = launcher._get_task_overrides(EcsContainerContext(), run)
    assert overrides.get("taskRoleArn") == ("arn:aws:iam::123456789012:role/index" if index else None)
    assert overrides["ephemeralStorage"] == {"sizeInGiB": 30}
    assert (task_role_for_run(run) is not None) is index
