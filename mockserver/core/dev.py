"""What every mock has for development and tests, nameable without loading the spec: the dev
users seeded at start, and how the control API is unlocked.

Standard library only, and nothing of the mock's: the control client
(``mockserver.testing.sdk_kit``) names dev users and sends the admin token with it alone. The
dev users' keys are derived from the spec's key shape (``mockserver.core.keys.dev_key``): a
client that needs them asks the mock (``GET /_mock/dev-keys``).
"""

from __future__ import annotations

#: The dev users seeded at start: name → plan (the spec's plan names).
DEV_USERS = {"pro": "pro", "premium": "premium", "free": "free", "revoked": "pro", "other": "pro"}
#: The control API's admin token unless ``--admin-token`` or ``adminToken`` sets another.
DEFAULT_ADMIN_TOKEN = "cbk_mock_admin_dev"
#: The header the control API reads the admin token from: ``control-api.yaml``'s ``AdminToken``
#: scheme (a test holds the two together).
ADMIN_HEADER = "X-Mock-Admin-Token"


def dev_user_id(name: str) -> str:
    """The fixed user id of a dev user; it survives resets."""
    return f"user_dev_{name}"
