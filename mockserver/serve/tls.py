"""HTTPS for the local mock: a throw-away CA and certificate from ``trustme``, or real files."""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme


def generated_context(directory: Path, hosts: tuple[str, ...]) -> tuple[ssl.SSLContext, Path]:
    """A server context for ``hosts``; returns it and the CA file clients should trust."""
    ca = trustme.CA()
    cert = ca.issue_cert(*hosts)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    directory.mkdir(parents=True, exist_ok=True)
    ca_file = directory / "cbk-mock-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return context, ca_file


def file_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context
