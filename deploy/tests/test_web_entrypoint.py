"""deploy/web-entrypoint.sh (the web image's entry point) renders
deploy/nginx.conf and runs nginx: here with the machine's nginx, a fake
SPA and a fake upstream, to see the rendered file actually serve."""

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import DEPLOY

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make run installs it)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Upstream(BaseHTTPRequestHandler):
    """Stands in for admin-api and ingest: echoes what it was asked (and,
    when its server has a label, which one was asked)."""

    def do_GET(self):
        label = getattr(self.server, "label", "upstream")
        body = f"{label} saw {self.path} from {self.headers.get('X-Forwarded-For')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve_upstream(label="upstream"):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    server.label = label
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def upstream():
    server = serve_upstream()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def folders():
    # nginx started as root serves as `nobody`: the folders must be readable
    # by everyone, which pytest's private tmp_path is not.
    base = Path(tempfile.mkdtemp(prefix="sentori-web-"))
    base.chmod(0o755)
    root, prefix = base / "root", base / "prefix"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>Sentori</title>")
    (root / "assets" / "app-1234.js").write_text("console.log('sentori')")
    (root / "assets" / "app-1234.js.map").write_text('{"version":3,"sources":["src/secret.ts"]}')
    for path in [root, root / "assets", *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield root, prefix
    shutil.rmtree(base, ignore_errors=True)


def entrypoint_env(root, prefix, port, upstream, **extra):
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin",
        "SENTORI_WEB_PORT": str(port),
        "SENTORI_WEB_ROOT": str(root),
        "SENTORI_WEB_PREFIX": str(prefix),
        "SENTORI_WEB_TEMPLATE": str(DEPLOY / "nginx.conf"),
        "SENTORI_ADMIN_API_UPSTREAM": upstream,
        "SENTORI_INGEST_UPSTREAM": upstream,
        "NGINX": NGINX,
        **extra,
    }


def get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode()


def wait_for(port, process):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, f"nginx exited: {process.stderr.read()}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("nginx did not start listening within 30 s")


def run_web(env):
    process = subprocess.Popen(
        ["sh", str(DEPLOY / "web-entrypoint.sh")], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    return process


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_the_rendered_template_listens_on_every_interface_and_serves(folders, upstream):
    root, prefix = folders
    port = free_port()
    env = entrypoint_env(root, prefix, port, upstream, SENTORI_WEB_REAL_IP_FROM="127.0.0.1/32")
    web = run_web(env)
    try:
        wait_for(port, web)
        rendered = (prefix / "nginx.conf").read_text()
        assert f"listen {port};" in rendered, "a container listens on all interfaces"
        assert "127.0.0.1:" + str(port) not in rendered
        assert "${" not in rendered.replace("$sentori", ""), "every template variable is substituted"
        assert "set_real_ip_from 127.0.0.1/32;" in rendered

        base = f"http://127.0.0.1:{port}"
        status, headers, body = get(base + "/issues/some-client-route")
        assert status == 200 and "Sentori" in body, "client routes get the SPA"
        assert headers["Cache-Control"] == "no-cache"
        status, headers, _ = get(base + "/assets/app-1234.js")
        assert status == 200 and "immutable" in headers["Cache-Control"]
        assert get(base + "/assets/missing.js")[0] == 404
        status, _, body = get(base + "/assets/app-1234.js.map")
        assert status == 404 and "secret" not in body, "source maps are not public"
        status, _, body = get(base + "/admin/api/releases/app%401.0/artifacts/app-1234.js.map")
        assert status == 200 and body.startswith("upstream saw /admin/api/"), "API paths ending in .map still reach it"
        assert get(base + "/healthz")[0] == 404, "health endpoints stay internal"
        status, _, body = get(base + "/admin/api/projects", {"X-Forwarded-For": "203.0.113.7"})
        assert status == 200 and body.startswith("upstream saw /admin/api/projects")
        # The trusted proxy's X-Forwarded-For becomes the client address.
        assert body.endswith("from 203.0.113.7"), body
        status, _, body = get(base + "/v1/events")
        assert status == 200 and body.startswith("upstream saw /v1/events")

        check = subprocess.run(["sh", str(DEPLOY / "web-entrypoint.sh"), "healthcheck"], env=env, capture_output=True)
        assert check.returncode == 0, check.stderr
    finally:
        stop(web)
    check = subprocess.run(["sh", str(DEPLOY / "web-entrypoint.sh"), "healthcheck"], env=env, capture_output=True)
    assert check.returncode != 0, "the health check fails once nginx is gone"


def test_sentrys_web_api_reaches_admin_api_and_numbered_projects_reach_ingest(folders):
    root, prefix = folders
    admin, ingest = serve_upstream("admin-api"), serve_upstream("ingest")
    port = free_port()
    env = entrypoint_env(root, prefix, port, f"127.0.0.1:{admin.server_address[1]}",
                         SENTORI_INGEST_UPSTREAM=f"127.0.0.1:{ingest.server_address[1]}")
    web = run_web(env)
    try:
        wait_for(port, web)
        base = f"http://127.0.0.1:{port}"
        # What sentry-cli calls (sentry-cli info, sourcemaps upload).
        for path in ["/api/0/", "/api/0/organizations/acme/chunk-upload/",
                     "/api/0/organizations/acme/artifactbundle/assemble/"]:
            status, headers, body = get(base + path)
            assert status == 200 and body.startswith(f"admin-api saw {path}"), (path, body)
            assert "immutable" not in headers.get("Cache-Control", "") and "sandbox" not in headers["Content-Security-Policy"]
        # What Sentry SDKs send to (a DSN's project number).
        for path in ["/api/1/envelope/", "/api/12/store/", "/api/10/envelope/"]:
            status, _, body = get(base + path)
            assert status == 200 and body.startswith(f"ingest saw {path}"), (path, body)
        assert "client_max_body_size 40m;" in (prefix / "nginx.conf").read_text(), "room for a 32 MiB chunk request"
    finally:
        stop(web)
        admin.shutdown()
        ingest.shutdown()


def test_without_trusted_proxies_the_client_cannot_choose_its_address(folders, upstream):
    root, prefix = folders
    port = free_port()
    web = run_web(entrypoint_env(root, prefix, port, upstream))
    try:
        wait_for(port, web)
        assert "set_real_ip_from " not in (prefix / "nginx.conf").read_text().replace("add set_real_ip_from for", "")
        _, _, body = get(f"http://127.0.0.1:{port}/admin/api/x", {"X-Forwarded-For": "203.0.113.7"})
        assert body.endswith("from 127.0.0.1"), body
    finally:
        stop(web)


@pytest.mark.parametrize("variable,value", [("SENTORI_WEB_PORT", "80a"), ("SENTORI_WEB_REAL_IP_FROM", "10.0.0.0/8;evil")])
def test_bad_settings_stop_the_container(folders, variable, value):
    root, prefix = folders
    env = entrypoint_env(root, prefix, 8000, "127.0.0.1:1", **{variable: value})
    result = subprocess.run(["sh", str(DEPLOY / "web-entrypoint.sh")], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert variable in result.stderr
