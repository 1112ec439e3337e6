"""How often every sensor ticks.

``minimum_interval_seconds`` is an argument of the ``@dg.sensor`` decorator, evaluated when the
module is imported, so it cannot come from a resource (resolved at launch) like the other tunables.
It is read from the environment here, once, at import, and nowhere else.
"""

import os

SENSOR_INTERVAL_S = int(os.environ.get("BIOMARKER_SENSOR_INTERVAL", "30"))
