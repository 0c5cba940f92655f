"""Prefect orchestration of the pipeline (thin: the work is in the ``kremlin`` package).

Importing any flow module runs this first, so the Prefect settings below (one home for
them) are in place before Prefect itself is imported.
"""

import os

# Never call home.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Prefect's temporary server gives up after 20 s by default; a busy machine needs longer.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
