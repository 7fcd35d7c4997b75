"""deploy/k8s: the manifests, checked offline: well-formed objects,
everything kustomization.yaml lists, a Deployment and Service per service,
probes on /healthz and /readyz at the port the service listens on,
resources, a non-root security context, and the same variable cross-check
as for compose."""

import re

import pytest

from conftest import DEPLOY, PENDING_READS, REPO, SERVICES, cli_reads, default_port, load_yaml, load_yaml_docs, service_reads

K8S = DEPLOY / "k8s"
NAMESPACED = {"ConfigMap", "Secret", "Deployment", "Service", "HorizontalPodAutoscaler", "Job", "PersistentVolumeClaim"}
API_VERSIONS = {
    "Namespace": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "PersistentVolumeClaim": "v1",
    "Deployment": "apps/v1",
    "Job": "batch/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
}
QUANTITY = re.compile(r"^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti)?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def objects(paths):
    out = []
    for path in paths:
        for doc in load_yaml_docs(path):
            out.append((path.name, doc))
    return out


@pytest.fixture(scope="module")
def kustomization():
    return load_yaml(K8S / "kustomization.yaml")


@pytest.fixture(scope="module")
def applied(kustomization):
    """Every object `kubectl apply -k deploy/k8s` creates."""
    return objects([K8S / name for name in kustomization["resources"]])


@pytest.fixture(scope="module")
def secret_template():
    docs = load_yaml_docs(K8S / "secret.example.yaml")
    assert len(docs) == 1 and docs[0]["kind"] == "Secret"
    return docs[0]


def by_kind(applied, kind):
    return {doc["metadata"]["name"]: doc for _, doc in applied if doc["kind"] == kind}


def test_kustomization_lists_every_manifest_but_the_secret_template(kustomization):
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert listed == on_disk
    assert kustomization["namespace"] == "sentori"


def test_every_object_is_well_formed(applied, secret_template):
    seen = set()
    for filename, doc in applied + [("secret.example.yaml", secret_template)]:
        kind = doc.get("kind")
        assert kind in API_VERSIONS, f"{filename}: unexpected kind {kind}"
        assert doc["apiVersion"] == API_VERSIONS[kind], f"{filename}: {kind} is {API_VERSIONS[kind]}"
        name = doc["metadata"]["name"]
        assert DNS_LABEL.match(name), f"{filename}: {name} is a DNS label"
        if kind in NAMESPACED:
            assert doc["metadata"].get("namespace") == "sentori", f"{filename}: {kind}/{name} is in the sentori namespace"
        assert (kind, name) not in seen, f"{kind}/{name} defined twice"
        seen.add((kind, name))


def containers_of(doc):
    return doc["spec"]["template"]["spec"]["containers"]


def test_a_deployment_and_service_per_service(applied):
    deployments, services = by_kind(applied, "Deployment"), by_kind(applied, "Service")
    assert set(SERVICES) | {"web"} <= set(deployments)
    for name, deployment in deployments.items():
        spec = deployment["spec"]
        selector = spec["selector"]["matchLabels"]
        labels = spec["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), f"{name}: the selector matches the pod labels"
        service = services[name]
        assert service["spec"]["selector"].items() <= labels.items(), f"Service {name} selects its pods"
        ports = {p["name"]: p["containerPort"] for c in containers_of(deployment) for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, f"Service {name} targets a named container port"
        if name in SERVICES:
            assert ports["http"] == default_port(name), f"{name} listens on its default port"
            image = containers_of(deployment)[0]["image"]
            assert image.startswith(f"sentori/{name}:"), image


def test_probes_resources_and_security(applied):
    for name, deployment in by_kind(applied, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod.get("automountServiceAccountToken") is False, name
        volumes = {v["name"] for v in pod.get("volumes", [])}
        for container in pod["containers"]:
            where = f"{name}/{container['name']}"
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            for section in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    value = str(container["resources"][section][resource])
                    assert QUANTITY.match(value), f"{where}: {section}.{resource} {value!r}"
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in volumes, f"{where} mounts undefined volume {mount['name']}"
            live, ready = container["livenessProbe"]["httpGet"], container["readinessProbe"]["httpGet"]
            if name in SERVICES:
                assert live["path"] == "/healthz", where
                assert ready["path"] == "/readyz", where
                assert container["startupProbe"]["httpGet"]["path"] == "/healthz", where
            for probe in (live, ready):
                assert probe["port"] in {p["name"] for p in container["ports"]}, where


def test_ingest_autoscales(applied):
    hpas = by_kind(applied, "HorizontalPodAutoscaler")
    hpa = hpas["ingest"]
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "ingest")
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert "replicas" not in by_kind(applied, "Deployment")["ingest"]["spec"], "the autoscaler owns ingest's replicas"
    cpu_request = containers_of(by_kind(applied, "Deployment")["ingest"])[0]["resources"]["requests"]["cpu"]
    assert cpu_request, "CPU utilisation needs a CPU request"


def test_migrations_run_as_a_job(applied):
    jobs = by_kind(applied, "Job")
    assert len(jobs) == 1
    job = next(iter(jobs.values()))
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] in {"OnFailure", "Never"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["image"].startswith("sentori/cli:")
    assert container["args"] == ["migrate"]
    assert re.search(r"^\s*Migrate\(", (REPO / "cli" / "src" / "lib.rs").read_text(), re.M), \
        "the CLI has the `migrate` command the Job runs"
    passed = {e["name"] for e in container["env"]}
    assert "SENTORI_DATABASE_URL" in passed
    assert {n for n in passed if n.startswith("SENTORI_")} <= cli_reads()


def _env_names(container):
    return [e["name"] for e in container.get("env", [])]


def test_environment_references_resolve_and_match_what_each_service_reads(applied, secret_template):
    configmap = by_kind(applied, "ConfigMap")["sentori-config"]["data"]
    secret = secret_template["stringData"]
    workloads = list(by_kind(applied, "Deployment").items()) + list(by_kind(applied, "Job").items())
    for name, workload in workloads:
        for container in containers_of(workload):
            names = _env_names(container)
            assert len(names) == len(set(names)), f"{name}: duplicate env entries"
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {})
                if "configMapKeyRef" in ref:
                    assert ref["configMapKeyRef"]["name"] == "sentori-config"
                    assert ref["configMapKeyRef"]["key"] in configmap, f"{name}: {entry['name']} missing from the ConfigMap"
                elif "secretKeyRef" in ref:
                    assert ref["secretKeyRef"]["name"] == "sentori-secrets"
                    assert ref["secretKeyRef"]["key"] in secret, f"{name}: {entry['name']} missing from the Secret template"
                else:
                    assert "value" in entry, f"{name}: {entry['name']} has a value"
            if name not in SERVICES:
                continue
            passed = {n for n in names if n.startswith("SENTORI_")}
            read, required = service_reads(name)
            unread = {v for v in passed - read if (name, v) not in PENDING_READS}
            assert not unread, f"k8s passes {sorted(unread)} to {name}, which never reads them"
            assert required <= passed, f"k8s does not pass {sorted(required - passed)} to {name}"


def test_data_volume_claim_is_defined(applied):
    claims = by_kind(applied, "PersistentVolumeClaim")
    for name, workload in [*by_kind(applied, "Deployment").items(), *by_kind(applied, "Job").items()]:
        for volume in workload["spec"]["template"]["spec"].get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, name
