"""Same input, config and code give byte-identical result objects in S3 (only provenance holds times)."""

from __future__ import annotations

import copy
import hashlib
import json

import dagster as dg
import yaml

from biomarker_assets.definitions import defs
from biomarker_assets.defs.biomarkers.assets import file_biomarkers
from biomarker_assets.defs.catalog.assets import study_catalog
from biomarker_assets.defs.metadata.assets import subject_metadata
from biomarker_assets.defs.partitions import studies
from biomarker_assets.lib.partition_keys import file_partition_key
from biomarker_assets.lib.provenance import PROVENANCE_FILE
from biomarker_assets.local.aws_standin import drain_messages
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.study_store import StudyStore

assert defs.resources is not None  # bound in defs/resources.py
RESOURCES = {key: defs.resources[key] for key in ("study_store", "notifier", "metadata_table", "processing_options")}
STUDY, BUCKET = "determinism", "determinism-data"
# one lumbar file (gait, needs height from the metadata) and one wrist file (activity with day windows)
FILES = {"raw/lumbar/DM001_V1_lumbar.npz": "gait_input.npz", "raw/wrist/DM002_V1_wrist.cwa": "ax3_sample.cwa"}


def materialize(asset, instance, partition):
    result = dg.materialize([asset], instance=instance, resources=RESOURCES, partition_key=partition)
    assert result.success
    return result


def results_in_s3() -> dict[str, bytes]:
    s3 = aws_client("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="results/")["Contents"]
    return {
        o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
        for o in listed
        if "/_catalog/" not in o["Key"]
    }


def test_materializing_twice_gives_byte_identical_results(aws, instance, samples):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for key, sample in FILES.items():
        s3.upload_file(str(samples / sample), BUCKET, key)
    s3.put_object(Bucket=BUCKET, Key="raw/metadata/subjects.csv", Body=(STUDY_FILES / "subjects.csv").read_bytes())
    config = copy.deepcopy(yaml.safe_load((STUDY_FILES / "demo.yaml").read_text()))
    config.update(study=STUDY, bucket=BUCKET)
    s3.put_object(
        Bucket=StudyStore().config_bucket, Key=StudyStore().config_key(STUDY), Body=yaml.safe_dump(config).encode()
    )
    instance.add_dynamic_partitions(studies.name, [STUDY])
    materialize(study_catalog, instance, STUDY)
    materialize(subject_metadata, instance, file_partition_key(STUDY, "raw/metadata/subjects.csv"))

    runs = []
    for _ in range(2):
        for key in FILES:
            materialize(file_biomarkers, instance, file_partition_key(STUDY, key))
        runs.append(results_in_s3())
    drain_messages()

    first, second = runs
    assert first.keys() == second.keys()
    provenance = sorted(k for k in first if k.endswith("/" + PROVENANCE_FILE))
    assert len(provenance) == len(FILES)
    results = sorted(k for k in first if not k.endswith("/" + PROVENANCE_FILE))
    assert {k.rsplit("/", 1)[1] for k in results} >= {
        "GaitLumbar.parquet",
        "PredictGaitLumbarLgbm.parquet",
        "ActivityLevelClassification.parquet",
        "headline.json",
    }
    for key in results:
        assert first[key] == second[key], key

    for key in provenance:
        a, b = json.loads(first[key]), json.loads(second[key])
        assert a["code"].pop("dagster_run_id") != b["code"].pop("dagster_run_id")  # two runs really happened
        for field in (
            "input",
            "config_source",
            "config_digest",
            "subject",
            "code",
            "outputs",
            "study",
            "partition_key",
        ):
            assert a[field] == b[field], (key, field)
        # every result object is listed with the checksum of the bytes that are in S3
        listed = {o["uri"]: o["sha256"] for o in a["outputs"]}
        folder = key[: -len(PROVENANCE_FILE)]
        assert set(listed) == {f"s3://{BUCKET}/{k}" for k in results if k.startswith(folder)}
        for uri, sha in listed.items():
            assert hashlib.sha256(first[uri.removeprefix(f"s3://{BUCKET}/")]).hexdigest() == sha, uri
