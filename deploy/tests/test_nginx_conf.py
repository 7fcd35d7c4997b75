"""deploy/nginx.conf read as text: what it writes to its logs."""

import re

from conftest import DEPLOY

TEMPLATE = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")

# Variables that hold the query string, alone or inside the request line.
QUERY_VARIABLES = ("$request", "$request_uri", "$args", "$query_string", "$is_args", "$arg_")


def log_formats():
    """name -> the format string of every log_format (its quoted pieces joined)."""
    formats = {}
    for name, body in re.findall(r"^\s*log_format\s+(\S+)\s+(.*?);", TEMPLATE, re.M | re.S):
        formats[name] = "".join(re.findall(r"'([^']*)'", body))
    return formats


def test_no_log_records_a_query_string():
    formats = log_formats()
    assert formats, "a log_format of our own: nginx's default 'combined' logs $request with its query"
    for name, text in formats.items():
        variables = re.findall(r"\$[a-z_]+", text)
        leaking = [v for v in variables if v in QUERY_VARIABLES or v.startswith("$arg_")]
        assert not leaking, f"log_format {name} records the query string through {leaking}"
        assert "$uri" in variables, f"log_format {name} still records the path"
    access_logs = re.findall(r"^\s*access_log\s+([^;]*);", TEMPLATE, re.M)
    assert access_logs
    for directive in access_logs:
        words = directive.split()
        assert words == ["off"] or (len(words) >= 2 and words[1] in formats), (
            f"access_log {directive} uses nginx's default format, which logs the query string"
        )
