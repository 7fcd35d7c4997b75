"""docker-compose.yml and its override example, checked without an engine:
structure, interpolation, health checks, images, and that every variable
given to a service is one the service reads (and every one it requires is
given).

Not `docker-compose config`: the PyPI `docker-compose` (v1) pins
PyYAML < 6, which no longer builds on Python 3.11, and v1 predates the
Compose spec features used here (`name:`, `!override`)."""

import re

import pytest

from conftest import (
    DEPLOY,
    PENDING_READS,
    REPO,
    REQUIRED_SECRETS,
    SERVICES,
    cli_reads,
    default_port,
    load_yaml,
    service_reads,
)

# Keys of the Compose specification this file may use; a typo (`depend_on`)
# would otherwise be ignored by a YAML check and only fail on the host.
TOP_LEVEL_KEYS = {"name", "services", "volumes", "networks", "configs", "secrets"}
SERVICE_KEYS = {
    "image", "build", "command", "entrypoint", "environment", "env_file", "depends_on", "healthcheck",
    "volumes", "ports", "expose", "restart", "read_only", "tmpfs", "security_opt", "cap_drop", "cap_add",
    "user", "shm_size", "stop_grace_period", "stop_signal", "deploy", "labels", "logging", "networks",
    "ulimits", "working_dir", "init", "profiles",
}
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"}

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(text, env):
    """Compose's variable substitution, enough to see what it would refuse."""
    text = text.replace("$$", "\0")
    if re.search(r"\$(?!\{)[A-Za-z_]", text):
        raise ValueError(f"bare $VAR in {text!r}: write ${{VAR}} or $$")

    def replace(m):
        name, op, arg = m.group(1), m.group(2), m.group(3)
        value = env.get(name)
        if op in (":?", "?"):
            if value is None or (op == ":?" and value == ""):
                raise LookupError(f"required variable {name} is missing a value: {arg}")
            return value
        if op in (":-", "-"):
            return arg if value is None or (op == ":-" and value == "") else value
        return value or ""

    out = _INTERPOLATION.sub(replace, text)
    if "${" in out:
        raise ValueError(f"unparsed interpolation in {text!r}")
    return out.replace("\0", "$")


def walk_strings(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk_strings(key)
            yield from walk_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_strings(item)
    elif isinstance(node, str):
        yield node


def env_of(service_def):
    env = service_def.get("environment") or {}
    assert isinstance(env, dict), "environment is written as a mapping"
    return {str(k): v for k, v in env.items()}


SECRETS_SET = {name: f"value-of-{name.lower()}-0123456789abcdef0123456789" for name in REQUIRED_SECRETS}


def test_only_known_keys_are_used(compose):
    unknown = {k for k in compose if not k.startswith("x-")} - TOP_LEVEL_KEYS
    assert not unknown, f"unknown top-level keys: {unknown}"
    for name, svc in compose["services"].items():
        assert not set(svc) - SERVICE_KEYS, f"{name}: unknown keys {set(svc) - SERVICE_KEYS}"
        if "healthcheck" in svc:
            assert not set(svc["healthcheck"]) - HEALTHCHECK_KEYS, f"{name}: unknown healthcheck keys"


def test_every_value_interpolates_once_the_secrets_are_set(compose):
    for value in walk_strings(compose):
        interpolate(value, SECRETS_SET)


@pytest.mark.parametrize("missing", REQUIRED_SECRETS)
def test_compose_refuses_to_start_without_each_secret(compose, compose_text, missing):
    env = {k: v for k, v in SECRETS_SET.items() if k != missing}
    with pytest.raises(LookupError, match=missing):
        for value in walk_strings(compose):
            interpolate(value, env)
    # Every use is the refusing form: no default could stand in for a secret.
    uses = re.findall(r"\$\{" + missing + r"([^}]*)\}", compose_text)
    assert uses, f"{missing} is used"
    assert all(u.startswith(":?") and len(u) > 2 for u in uses), f"{missing} is always ${{{missing}:?message}}: {uses}"


def test_backing_stores(compose):
    services = compose["services"]
    pg, valkey = services["postgres"], services["valkey"]
    assert pg["image"] == "postgres:18"
    assert valkey["image"] == "valkey/valkey:9"
    assert pg["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert valkey["healthcheck"]["test"] == ["CMD", "valkey-cli", "ping"]
    command = valkey["command"]
    assert isinstance(command, list)
    for flag, value in [("--appendonly", "yes"), ("--appendfsync", "everysec"), ("--auto-aof-rewrite-min-size", "1gb")]:
        assert flag in command and command[command.index(flag) + 1] == value, f"valkey runs with {flag} {value}"
    assert "POSTGRES_PASSWORD" in pg["environment"]


def test_every_service_is_built_here_and_answers_its_own_health_check(compose):
    services = compose["services"]
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM \$\{RUST_IMAGE\} AS builder$", dockerfile, re.M)
    runtime = re.search(r"^ARG RUNTIME_IMAGE=(\S+)$", dockerfile, re.M).group(1)
    assert runtime.startswith("gcr.io/distroless/") and runtime.endswith(":nonroot")
    assert re.search(r"^USER 65532:65532$", dockerfile, re.M), "images run as the non-root user"
    for name in SERVICES:
        svc = services[name]
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
        assert svc["build"]["context"] == "."
        assert svc["build"]["target"] == name
        binary = f"/usr/local/bin/{name}"
        assert svc["healthcheck"]["test"] == ["CMD", binary, "healthcheck"], f"{name} health check needs no shell"
        stage = re.search(rf"^FROM runtime AS {re.escape(name)}\n(.*?)(?=^FROM |\Z)", dockerfile, re.M | re.S)
        assert stage, f"deploy/Dockerfile has a `{name}` stage"
        assert f"/out/bin/{name} {binary}" in stage.group(1)
        assert f'ENTRYPOINT ["{binary}"]' in stage.group(1)
        assert f"EXPOSE {default_port(name)}" in stage.group(1)
        assert f"target/release/{name}" in dockerfile, f"the builder builds {name}"
        assert f"-p {name}" in dockerfile


def test_dependencies_wait_for_health(compose):
    services = compose["services"]
    for name, svc in services.items():
        for dep, spec in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            assert spec == {"condition": "service_healthy"}, f"{name} waits for {dep} to be healthy"
            assert "healthcheck" in services[dep], f"{dep} has a health check to wait for"
    for name in SERVICES:
        assert set(services[name]["depends_on"]) >= {"postgres", "valkey"}, name
    assert set(services["web"]["depends_on"]) >= {"admin-api", "ingest"}


def test_data_lives_in_named_volumes(compose):
    declared = set(compose["volumes"])
    mounts = {}
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes") or []:
            source, target = volume.split(":")[:2]
            assert source in declared, f"{name} mounts {source}, which is not a declared named volume"
            mounts.setdefault(name, {})[target] = source
    assert mounts["postgres"]["/var/lib/postgresql"] in declared
    assert mounts["valkey"]["/data"] in declared
    # Source maps (admin-api writes, processor reads) and attachments share one volume.
    data = {mounts[s]["/data"] for s in ("admin-api", "processor", "ingest", "retention")}
    assert len(data) == 1, f"one shared data volume: {data}"
    assert len(declared) >= 3


def test_only_web_publishes_a_port(compose):
    for name, svc in compose["services"].items():
        if name != "web":
            assert "ports" not in svc, f"{name} stays on the internal network"
    assert compose["services"]["web"]["ports"] == ["${SENTORI_WEB_PORT:-8000}:8000"]


def test_web_serves_the_shared_nginx_template_and_reaches_the_services(compose):
    web = compose["services"]["web"]
    assert web["build"]["dockerfile"] == "deploy/web.Dockerfile"
    dockerfile = (DEPLOY / "web.Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^COPY deploy/nginx\.conf ", dockerfile, re.M), "the image uses deploy/nginx.conf itself"
    assert "npm ci" in dockerfile and "npm run build" in dockerfile
    assert re.search(r"^USER nginx$", dockerfile, re.M)
    env = env_of(web)
    assert env["SENTORI_WEB_PORT"] == 8000
    for var, service in [("SENTORI_ADMIN_API_UPSTREAM", "admin-api"), ("SENTORI_INGEST_UPSTREAM", "ingest")]:
        assert env[var] == f"{service}:{default_port(service)}", f"{var} points at {service}'s listen port"
    assert web["healthcheck"]["test"] == ["CMD", "/usr/local/bin/sentori-web", "healthcheck"]
    # Every variable the template needs is set by the image or the service.
    template = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    needed = set(re.findall(r"\$\{(SENTORI_[A-Z_]+)\}", template))
    provided = set(env) | set(re.findall(r"(SENTORI_[A-Z_]+)=", dockerfile))
    assert needed <= provided, f"template variables not provided: {needed - provided}"


def _check_variables(services, where):
    for name in SERVICES:
        if name not in services:
            continue
        passed = {k for k in env_of(services[name]) if k.startswith("SENTORI_")}
        read, _ = service_reads(name)
        unread = {v for v in passed - read if (name, v) not in PENDING_READS}
        assert not unread, f"{where} passes {sorted(unread)} to {name}, which never reads them"


def test_every_variable_passed_is_read_and_every_required_one_is_passed(compose):
    _check_variables(compose["services"], "docker-compose.yml")
    for name in SERVICES:
        passed = set(env_of(compose["services"][name]))
        _, required = service_reads(name)
        assert required <= passed, f"{name} requires {sorted(required - passed)}, which compose does not pass"


def test_the_override_example_sets_smtp_rate_limit_and_port():
    override = load_yaml(REPO / "docker-compose.override.example.yml")
    main = load_yaml(REPO / "docker-compose.yml")
    assert set(override["services"]) <= set(main["services"])
    _check_variables(override["services"], "docker-compose.override.example.yml")
    notifier = env_of(override["services"]["notifier"])
    assert {"SENTORI_SMTP_HOST", "SENTORI_SMTP_PORT", "SENTORI_SMTP_FROM"} <= set(notifier)
    assert "SENTORI_RATE_LIMIT_PER_MIN" in env_of(override["services"]["ingest"])
    assert override["services"]["web"]["ports"]
    for value in walk_strings(override):
        interpolate(value, {**SECRETS_SET, "SENTORI_SMTP_PASS": "x"})


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "web.Dockerfile"])
def test_dockerfile_copies_files_that_exist_and_are_not_ignored(dockerfile):
    text = (DEPLOY / dockerfile).read_text(encoding="utf-8")
    ignore = [line.strip() for line in (DEPLOY / f"{dockerfile}.dockerignore").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    stages = re.findall(r"^FROM \S+ AS (\S+)$", text, re.M)
    assert len(stages) == len(set(stages)), "stage names are unique"
    for flags, sources in re.findall(r"^COPY ((?:--\S+ )*)(.+) \S+$", text, re.M):
        if "--from=" in flags:
            assert re.search(r"--from=(\S+)", flags).group(1) in stages
            continue
        for source in sources.split():
            if source == ".":
                continue
            path = REPO / source.rstrip("/")
            assert path.exists(), f"{dockerfile} copies {source}, which does not exist"
            top = source.split("/")[0]
            # A later `!path` re-includes what an earlier pattern excluded.
            excluded = False
            for pattern in ignore:
                negated = pattern.startswith("!")
                pattern = pattern.lstrip("!").rstrip("/")
                if pattern in ("*", top, source.rstrip("/")) or source.startswith(pattern + "/"):
                    excluded = not negated
            assert not excluded, f"{dockerfile}.dockerignore leaves {source} out of the build context"


def test_every_variable_the_deploy_files_use_is_documented(compose_text):
    docs = (REPO / "docs" / "self-hosting.md").read_text(encoding="utf-8")
    texts = [compose_text, (REPO / "docker-compose.override.example.yml").read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in sorted((DEPLOY / "k8s").glob("*.yaml"))]
    texts.append((DEPLOY / "web-entrypoint.sh").read_text(encoding="utf-8"))
    used = {v for t in texts for v in re.findall(r"\b(SENTORI_[A-Z0-9_]+)\b", t)}
    # The entry point's knobs for running it outside the image (its test).
    used -= {"SENTORI_WEB_TEMPLATE", "SENTORI_WEB_PREFIX", "SENTORI_WEB_ROOT"}
    missing = sorted(v for v in used if f"`{v}`" not in docs)
    assert not missing, f"docs/self-hosting.md does not describe {missing}"


def test_the_cli_runs_on_demand_with_what_it_reads(compose):
    cli = compose["services"]["cli"]
    assert cli["profiles"] == ["tools"], "`docker compose up` leaves the CLI out"
    assert cli["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile", "target": "cli"}
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM runtime AS cli$", dockerfile, re.M)
    assert 'ENTRYPOINT ["/usr/local/bin/sentori"]' in dockerfile
    env = env_of(cli)
    passed = {k for k in env if k.startswith("SENTORI_")}
    assert passed <= cli_reads(), f"compose passes {sorted(passed - cli_reads())} to the CLI, which never reads them"
    assert env["SENTORI_INGEST_URL"] == f"http://ingest:{default_port('ingest')}"
    assert env["SENTORI_ADMIN_URL"] == f"http://admin-api:{default_port('admin-api')}"
