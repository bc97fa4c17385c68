"""``cbk-mock serve`` as users run it: HTTPS with a generated or a given certificate, --config
YAML, --keys-file, --page-seconds, and the two ways to start it."""

from __future__ import annotations

import re
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from mockserver.core.accounts import dev_keys
from mockserver.core.config import MockConfig
from mockserver.serve import cli
from mockserver.testing.process import MockProcess, RunningMock

PRO = {"x-api-key": dev_keys()["pro"]}


def _config(*args: str) -> MockConfig:
    return cli.config_from_args(cli.build_parser().parse_args(["serve", *args]))


def _serve_fails(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``cbk-mock serve`` expecting it to refuse to start."""
    done = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0
    return done


@pytest.fixture(scope="module")
def tls_mock() -> Iterator[RunningMock]:
    with MockProcess("--tls") as running:
        yield running


@pytest.fixture(scope="module")
def default_mock() -> Iterator[RunningMock]:
    """``python -m mockserver serve`` with no options (MockProcess's default command)."""
    with MockProcess() as running:
        yield running


# --- TLS ---------------------------------------------------------------------------------
def test_tls_serves_https_trusted_through_the_printed_ca_file(tls_mock, create_body):
    assert tls_mock.url.startswith("https://127.0.0.1:")
    assert tls_mock.ca_file is not None and tls_mock.ca_file.is_file()
    trust = ssl.create_default_context(cafile=str(tls_mock.ca_file))
    with httpx.Client(base_url=tls_mock.url, verify=trust) as client:
        response = client.post("/v1/stories", json=create_body, headers=PRO)
    assert response.status_code == 202


def test_tls_certificate_is_not_trusted_without_the_ca_file(tls_mock):
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{tls_mock.url}/_mock/health")


def test_tls_port_does_not_serve_plain_http(tls_mock):
    plain = tls_mock.url.replace("https://", "http://")
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{plain}/_mock/health", timeout=5)


def test_given_certificate_and_key_serve_https(tmp_path: Path):
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    trust = ssl.create_default_context()
    ca.configure_trust(trust)
    with MockProcess("--cert", str(cert), "--key", str(key)) as running:
        assert running.url.startswith("https://") and running.ca_file is None
        response = httpx.get(f"{running.url}/_mock/health", verify=trust)
    assert response.json()["data"]["status"] == "ok"


def test_certificate_without_key_is_refused(tmp_path: Path):
    assert "--cert and --key go together" in _serve_fails("--cert", str(tmp_path / "c")).stderr


def test_default_is_plain_http_on_loopback(default_mock):
    assert default_mock.url.startswith("http://127.0.0.1:")
    assert httpx.get(f"{default_mock.url}/_mock/health").status_code == 200


# --- configuration -----------------------------------------------------------------------
def test_config_yaml_sets_clock_timing_token_and_plans(tmp_path: Path, create_body):
    config = tmp_path / "mock.yaml"
    config.write_text(
        "clock: manual\n"
        "pageSeconds: 2\n"
        "adminToken: yaml-token\n"
        "plans:\n"
        "  pro:\n"
        "    requestsPerMinute: 7\n"
    )
    admin = {"X-Mock-Admin-Token": "yaml-token"}
    with MockProcess("--config", str(config)) as running, httpx.Client(base_url=running.url) as c:
        assert c.get("/_mock/health").json()["data"]["clock"] == "manual"
        created = c.post("/v1/stories", json=create_body, headers=PRO)
        assert created.headers["x-ratelimit-limit"] == "7"
        assert running.admin_token == "yaml-token"  # read from the banner
        assert c.get("/_mock/clock").status_code == 401
        c.post("/_mock/clock/advance", json={"seconds": 2 * 8}, headers=admin)
        book = c.get(f"/v1/stories/{created.json()['data']['bookId']}", headers=PRO)
    assert book.json()["data"]["status"] == "completed"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("colour: blue\n", "unknown config keys: colour"),
        ("plans:\n  pro:\n    perHour: 3\n", "unknown plan keys for pro: perHour"),
        ("clock: sometimes\n", "clock must be system or manual"),
        ("pageSeconds: -1\n", "must not be negative"),
        ("[1, 2\n", "--config"),
        ("- a list\n", "--config"),
    ],
)
def test_bad_config_is_refused_with_a_message(tmp_path: Path, content, message):
    config = tmp_path / "mock.yaml"
    config.write_text(content)
    with pytest.raises(SystemExit, match=re.escape(message)):
        _config("--config", str(config))


def test_missing_config_file_is_refused_with_a_message(tmp_path: Path):
    with pytest.raises(SystemExit, match=r"absent\.yaml"):
        _config("--config", str(tmp_path / "absent.yaml"))


def test_negative_page_seconds_flag_is_refused():
    with pytest.raises(SystemExit, match="must not be negative"):
        _config("--page-seconds", "-2")


def test_bad_config_exits_without_a_traceback(tmp_path: Path):
    config = tmp_path / "mock.yaml"
    config.write_text("colour: blue\n")
    stderr = _serve_fails("--config", str(config)).stderr
    assert "unknown config keys: colour" in stderr and "Traceback" not in stderr


def test_keys_file_holds_the_dev_keys(default_mock):
    assert default_mock.keys == dev_keys()  # MockProcess reads them from its --keys-file


def test_page_seconds_sets_the_generation_time(create_body):
    statuses = []
    with (
        MockProcess("--page-seconds", "3", "--clock", "manual") as running,
        httpx.Client(base_url=running.url) as client,
    ):
        created = client.post("/v1/stories", json=create_body, headers=PRO)
        book_id = created.json()["data"]["bookId"]
        for seconds in (3 * (create_body["pageCount"] + 1) - 0.5, 0.5):
            client.post(
                "/_mock/clock/advance", json={"seconds": seconds}, headers=running.admin_headers
            )
            statuses.append(client.get(f"/v1/stories/{book_id}", headers=PRO).json()["data"])
    assert [s["status"] for s in statuses] == ["processing", "completed"]


# --- entry points ------------------------------------------------------------------------
def test_python_dash_m_mockserver_serves(default_mock):
    assert httpx.get(f"{default_mock.url}/_mock/health").status_code == 200


def test_cbk_mock_console_script_serves():
    script = Path(sys.executable).with_name("cbk-mock")
    with MockProcess(command=[str(script)]) as running:
        assert httpx.get(f"{running.url}/_mock/health").status_code == 200


def test_serve_without_subcommand_prints_usage():
    done = subprocess.run(
        [sys.executable, "-m", "mockserver"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2 and "usage: cbk-mock" in done.stderr
