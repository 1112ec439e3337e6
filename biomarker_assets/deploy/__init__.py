"""Infrastructure as code: the CloudFormation stack (``stack.yaml``), per-environment parameters
(``environments/``) and the ``biomarker-assets deploy`` command that applies them (``stack.py``)."""

from biomarker_assets.deploy.stack import (
    DeployError,
    check_parameters,
    deploy,
    environments,
    load_environment,
    load_template,
    parse_assignments,
)

__all__ = [
    "DeployError",
    "check_parameters",
    "deploy",
    "environments",
    "load_environment",
    "load_template",
    "parse_assignments",
]
