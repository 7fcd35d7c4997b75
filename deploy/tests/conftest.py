"""Shared helpers for the checks of the deploy files (run by `make test`).

Docker and Kubernetes cannot run where the tests run, so these checks read
the files the way the tools would and hold them to what the services
actually do: the variables each service reads come from its source code.
"""

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"

# The five Rust services: name -> the variable holding its listen address.
SERVICES = {
    "ingest": "SENTORI_INGEST_ADDR",
    "processor": "SENTORI_PROCESSOR_ADDR",
    "notifier": "SENTORI_NOTIFIER_ADDR",
    "retention": "SENTORI_RETENTION_ADDR",
    "admin-api": "SENTORI_ADMIN_API_ADDR",
}

# Secrets an operator must provide; compose refuses to start without them.
REQUIRED_SECRETS = ["SENTORI_PG_PASSWORD", "SENTORI_DEV_TOKEN", "SENTORI_ADMIN_PASSWORD", "SENTORI_SESSION_SECRET"]

# Variables the deploy files pass ahead of the code that reads them: the
# spec defines them and their feature is being built. Each entry is a
# (service, variable) pair; remove it once the service reads the variable
# (nothing fails if it already does).
PENDING_READS: set[tuple[str, str]] = set()


class _ComposeLoader(yaml.SafeLoader):
    """Safe YAML plus Compose's merge tags (`!override`, `!reset`)."""


def _tagged(loader, node):
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    return loader.construct_scalar(node)


_ComposeLoader.add_constructor("!override", _tagged)
_ComposeLoader.add_constructor("!reset", _tagged)


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=_ComposeLoader)


def load_yaml_docs(path):
    with open(path, encoding="utf-8") as f:
        return [doc for doc in yaml.load_all(f, Loader=_ComposeLoader) if doc is not None]


def _without_test_modules(source):
    """`source` minus each `#[cfg(test)] mod … { … }` block (by brace
    counting: good enough for this workspace's formatted code)."""
    out, pos = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+\w+\s*\{", source):
        if m.start() < pos:
            continue
        out.append(source[pos:m.start()])
        depth, i = 1, m.end()
        while i < len(source) and depth:
            depth += {"{": 1, "}": -1}.get(source[i], 0)
            i += 1
        pos = i
    out.append(source[pos:])
    return "".join(out)


def _rust_sources(crate_dir):
    """The crate's Rust source without its unit-test modules."""
    return "\n".join(
        _without_test_modules(path.read_text(encoding="utf-8"))
        for path in sorted((crate_dir / "src").rglob("*.rs"))
    )


def _workspace_deps(crate_dir):
    """Names of the workspace crates in the crate's [dependencies] table."""
    deps, section = set(), None
    for line in (crate_dir / "Cargo.toml").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
            continue
        m = re.match(r"(sentori-[a-z-]+)\s*[.=]", line)
        if section == "[dependencies]" and m:
            deps.add(m.group(1))
    return deps


_VAR = r'"(SENTORI_[A-Z0-9_]+)"'


def _store_config_vars():
    """The variables `StoreConfig::read` (libs/sentori-config) reads."""
    source = _rust_sources(REPO / "libs" / "sentori-config")
    body = source[source.index("impl StoreConfig"):]
    body = body[: body.index("\n}\n")]
    return set(re.findall(_VAR, body)), set(re.findall(r"\.required\(\s*" + _VAR, body))


def service_reads(service):
    """(every SENTORI_* variable the service reads, the required ones).

    A variable counts as read when its name is a string literal in the
    service's code or in a workspace library it depends on (tests left
    out); `StoreConfig` stands for the variables it reads.
    """
    crate = REPO / "services" / service
    sources = [_rust_sources(crate)]
    for dep in _workspace_deps(crate) - {"sentori-config", "sentori-runtime", "sentori-testkit"}:
        lib = REPO / "libs" / dep
        if lib.is_dir():
            sources.append(_rust_sources(lib))
    source = "\n".join(sources)
    read = set(re.findall(_VAR, source))
    required = set(re.findall(r"\.(?:required|secret)\(\s*" + _VAR, source))
    if "StoreConfig" in sources[0]:
        store_read, store_required = _store_config_vars()
        read |= store_read
        required |= store_required
    return read, required


def cli_reads():
    """Every SENTORI_* variable the operator CLI (cli/, `sentori`) reads."""
    return set(re.findall(_VAR, _rust_sources(REPO / "cli")))


def default_port(service):
    """The port of the service's default listen address in its code."""
    var = SERVICES[service]
    source = _rust_sources(REPO / "services" / service)
    m = re.search(r'addr_or\(\s*"' + var + r'"\s*,\s*"[^"]*:(\d+)"', source)
    assert m, f"{service} reads {var} with a default address"
    return int(m.group(1))


def documented_metrics():
    """Metric names listed in docs/self-hosting.md's metrics table."""
    text = (REPO / "docs" / "self-hosting.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\|\s*`(sentori_[a-z_]+)`", text, flags=re.M))


@pytest.fixture(scope="session")
def compose():
    return load_yaml(REPO / "docker-compose.yml")


@pytest.fixture(scope="session")
def compose_text():
    return (REPO / "docker-compose.yml").read_text(encoding="utf-8")
