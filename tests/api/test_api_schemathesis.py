"""schemathesis against the OpenAPI document: no 5xx, and every response as documented."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    )
)


@pytest.mark.slow
def test_schemathesis_finds_no_server_errors_or_schema_violations(api: str, tmp_path) -> None:
    cli = Path(sys.executable).with_name("schemathesis")
    command = str(cli) if cli.exists() else shutil.which("schemathesis")
    assert command, "schemathesis is a dev dependency"
    result = subprocess.run(
        [
            command,
            "run",
            f"{api}/api/v1/openapi.json",
            "--checks",
            CHECKS,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "40",
            "--seed",
            "20261031",
            "--generation-database",
            "none",
            "--workers",
            "2",
            "--request-timeout",
            "30",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    assert "Tested: 9" in output  # seven REST operations and two health checks
