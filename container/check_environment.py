"""Checks an installed image environment: the pins it must have and the commands its tasks run.

Run by the Dockerfile at build time and by test_container_environment on the same environment
built outside Docker, so both fail the same way.
"""

import importlib.util
import shutil
import subprocess
import sys
from importlib.metadata import version

# The local AWS stand-in (the `local` extra): the demo's and the tests', never the image's.
NOT_IN_THE_IMAGE = ("moto", "flask", "docker", "cfnlint")


def main() -> int:
    import skdh
    from dagster_postgres import PostgresRunStorage  # the production storage

    import biomarker_assets.definitions  # what every run worker loads
    from biomarker_assets.platform.run_sizing import SizedEcsRunLauncher  # the production run launcher

    assert skdh.__version__ == version("scikit-digital-health") == "0.17.18", skdh.__version__
    assert isinstance(SizedEcsRunLauncher, type) and isinstance(PostgresRunStorage, type)
    assert biomarker_assets.definitions.defs
    present = [name for name in NOT_IN_THE_IMAGE if importlib.util.find_spec(name) is not None]
    assert not present, f"the local stand-in's packages are in the image: {present}"
    for command in ("dagster", "dagster-daemon", "dagster-webserver", "biomarker-assets"):
        path = shutil.which(command)
        assert path, f"{command} is not on PATH"
        subprocess.run([path, "--help"], check=True, capture_output=True, timeout=120)
    print(f"ok: SKDH {skdh.__version__}, dagster {version('dagster')}, dagster-aws {version('dagster-aws')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
