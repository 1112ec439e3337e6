"""Processing and logistics requirements checked before SKDH runs.

A file whose requirements are unmet waits (it is not failed): the fix is in the
metadata or the file name, not in the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from biomarker_assets.lib.catalog.matching import filename_fields
from biomarker_assets.lib.metadata.cleaning import RECORD_FIELD
from biomarker_assets.lib.study_config.schema import PipelineConfig, StudyConfig


@dataclass
class RequirementCheck:
    fields: dict[str, str] = field(default_factory=dict)  # from the file name
    inputs: dict[str, Any] = field(default_factory=dict)  # subject fields for the pipeline
    unmet: list[str] = field(default_factory=list)  # one sentence each
    missing_subject_fields: list[str] = field(default_factory=list)  # met once the metadata has them

    @property
    def met(self) -> bool:
        return not self.unmet


def check_logistics(config: StudyConfig, key: str) -> RequirementCheck:
    check = RequirementCheck()
    fields = filename_fields(config, key)
    if fields is None:
        check.unmet.append(f"file name does not match the study's pattern {config.filename.pattern!r}")
        return check
    check.fields = fields
    missing = [f for f in config.filename.required_fields if not fields.get(f)]
    if missing:
        check.unmet.append(f"file name lacks required fields {missing}")
    return check


def check_processing(check: RequirementCheck, pipeline: PipelineConfig, subject_record: dict | None) -> None:
    """Adds the pipeline's subject inputs to ``check``, or what is missing to ``check.unmet``."""
    subject = check.fields.get("subject")
    for requirement in pipeline.requires:
        value = (subject_record or {}).get(RECORD_FIELD[requirement])
        if value is None:
            where = "no metadata row" if subject_record is None else f"no {requirement} in its metadata"
            conflict = ((subject_record or {}).get("conflicts") or {}).get(RECORD_FIELD[requirement])
            where = f"conflicting {requirement} values in its metadata ({conflict}), none used" if conflict else where
            check.unmet.append(f"subject {subject!r} has {where} ({requirement} is required by the pipeline)")
            check.missing_subject_fields.append(requirement)
        else:
            check.inputs[requirement] = value
