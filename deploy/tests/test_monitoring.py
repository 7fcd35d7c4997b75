"""Prometheus alert rules, the Grafana dashboard and the Caddyfile: their
shape, the alerts operations.md asks for, and that they only use metric
names from the contract in docs/self-hosting.md."""

import json
import re

import pytest

from conftest import DEPLOY, documented_metrics, load_yaml

HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
METRIC = re.compile(r"\b(sentori_[a-z_]+)\b")


@pytest.fixture(scope="module")
def rules():
    doc = load_yaml(DEPLOY / "prometheus" / "alerts.yml")
    assert set(doc) == {"groups"}
    out = []
    for group in doc["groups"]:
        assert group["name"] and group["rules"]
        out.extend(group["rules"])
    return out


@pytest.fixture(scope="module")
def dashboard():
    return json.loads((DEPLOY / "grafana" / "sentori.json").read_text(encoding="utf-8"))


def base_metric(name):
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in documented_metrics():
            return name[: -len(suffix)]
    return name


def balanced(expr):
    pairs, stack = {")": "(", "}": "{", "]": "["}, []
    for ch in re.sub(r'"[^"]*"', '""', expr):
        if ch in "({[":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                return False
    return not stack


def test_the_docs_list_the_metric_contract():
    names = documented_metrics()
    for name in [
        "sentori_http_requests_total",
        "sentori_http_request_duration_seconds",
        "sentori_stream_length",
        "sentori_stream_pending",
        "sentori_stream_dead_letters",
        "sentori_batch_size",
        "sentori_symbolication_cache_hits_total",
        "sentori_emails_sent_total",
        "sentori_emails_failed_total",
    ]:
        assert name in names, f"docs/self-hosting.md lists {name}"


def test_every_rule_is_complete(rules):
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names)), "alert names are unique"
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert balanced(rule["expr"]), f"{rule['alert']}: unbalanced brackets"
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]


def test_the_alerts_operations_asks_for_exist(rules):
    exprs = {r["alert"]: " ".join(r["expr"].split()) for r in rules}

    def some(predicate, what):
        assert any(predicate(e) for e in exprs.values()), f"an alert on {what}"

    some(lambda e: "sentori_stream_length" in e and ("deriv(" in e or "delta(" in e), "backlog growth")
    some(lambda e: re.search(r"sentori_stream_dead_letters\)?\s*>\s*0\b", e), "dead letters > 0")
    some(lambda e: 'sentori_http_requests_total{status=~"5.."}' in e and "rate(" in e, "the 5xx rate")


def test_rules_and_dashboard_use_only_documented_metrics(rules, dashboard):
    documented = documented_metrics()
    exprs = [r["expr"] for r in rules]
    exprs += [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    used = {base_metric(m) for e in exprs for m in METRIC.findall(e)}
    assert used, "the expressions use Sentori's metrics"
    assert used <= documented, f"metrics not in docs/self-hosting.md: {sorted(used - documented)}"
    # The dashboard shows every metric of the contract.
    dashboard_used = {base_metric(m) for p in dashboard["panels"] for t in p.get("targets", []) for m in METRIC.findall(t["expr"])}
    assert documented <= dashboard_used, f"metrics without a panel: {sorted(documented - dashboard_used)}"


def test_dashboard_is_well_formed(dashboard):
    assert dashboard["uid"] and dashboard["title"]
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert "datasource" in variables
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}"
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert balanced(target["expr"]), f"{panel['title']}: unbalanced brackets"
            for var in re.findall(r"\$(\w+)", target["expr"]):
                assert var in variables or var.startswith("__"), f"{panel['title']}: unknown variable ${var}"


def test_caddyfile_terminates_tls_in_front_of_web():
    text = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert code.count("{") == code.count("}"), "balanced blocks"
    assert re.search(r"^\{\$SENTORI_DOMAIN\} \{$", code, re.M), "a site block for the configured domain"
    assert re.search(r"reverse_proxy \{\$SENTORI_WEB_UPSTREAM:127\.0\.0\.1:8000\}", code)
    assert "Strict-Transport-Security" in code
