"""Load tests of the ChildrenBooks API: rate limits checked under real load.

``python -m loadtests`` (``make load``) runs locust headless against a local mock it starts, or
against any deployment (``--host`` and ``--keys-file``), and fails the run on any breach of the
rate-limit contract or of the latency and error thresholds. ``python -m loadtests.bench``
(``make bench``) measures the mock against a bare aiohttp handler with wrk.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
LOCUSTFILE = PACKAGE_DIR / "locustfile.py"
REPORTS_DIR = PACKAGE_DIR / "reports"
