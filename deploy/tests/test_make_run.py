"""`make run` in a fresh clone, as a newcomer runs it: no web/dist, no
node_modules, no .stack, and no nginx on PATH. The dashboard has to come up
with that one command, answer deep links, and take a login on its own
origin.

To stay within CI's time the clone builds debug binaries
(SENTORI_RUN_CARGO_PROFILE=dev) into this checkout's target dir
(CARGO_TARGET_DIR), where `make test` has just compiled every dependency;
only the workspace's own crates are compiled again. Those share their file
names with this checkout's, so this checkout's next cargo command sees them
as fresh: run it from a committed tree (as CI does). Every port is a free
one, so neither the test stack nor a developer's `make run` is disturbed.
"""

import http.client
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO

TOOLS = ["git", "make", "cargo", "npm"]
pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in TOOLS), reason=f"needs {', '.join(TOOLS)} on PATH"
)

# A first run installs the stack's wheels, runs npm ci and compiles the
# workspace: minutes. This only bounds a hang.
START_DEADLINE_SECS = 45 * 60
BANNER = "Sentori is running"


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def path_without(program, tmp_path):
    """PATH with every folder holding `program` replaced by a copy of it
    (symlinks) that lacks it."""
    folders = []
    for i, folder in enumerate(os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)):
        if not (Path(folder) / program).exists():
            folders.append(folder)
            continue
        shadow = tmp_path / f"path-{i}"
        shadow.mkdir()
        for entry in Path(folder).iterdir():
            if entry.name != program:
                (shadow / entry.name).symlink_to(entry)
        folders.append(str(shadow))
    return os.pathsep.join(folders)


def run_env(tmp_path, ports):
    pg, valkey, ingest, admin, processor, notifier, retention = ports
    # Nothing of this shell's own Sentori settings (the test stack's URLs
    # under make test) may reach the clone's run.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTORI_")}
    env.update(
        PATH=path_without("nginx", tmp_path),
        CARGO_TARGET_DIR=os.environ.get("CARGO_TARGET_DIR", str(REPO / "target")),
        SENTORI_RUN_CARGO_PROFILE="dev",
        SENTORI_STACK_PG_PORT=str(pg),
        SENTORI_STACK_VALKEY_PORT=str(valkey),
        SENTORI_INGEST_ADDR=f"127.0.0.1:{ingest}",
        SENTORI_ADMIN_API_ADDR=f"127.0.0.1:{admin}",
        SENTORI_PROCESSOR_ADDR=f"127.0.0.1:{processor}",
        SENTORI_NOTIFIER_ADDR=f"127.0.0.1:{notifier}",
        SENTORI_RETENTION_ADDR=f"127.0.0.1:{retention}",
    )
    assert shutil.which("nginx", path=env["PATH"]) is None
    return env


def make(target, clone, env, timeout):
    return subprocess.run(
        ["make", "--no-print-directory", target], cwd=clone, env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=timeout, check=False,
    )


@pytest.fixture
def clone(tmp_path):
    """A fresh clone of this repository's HEAD; stopped and removed afterwards,
    whatever happened."""
    path = tmp_path / "sentori"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(path)], check=True)
    yield path
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTORI_")}
    try:
        # Stops the services and the stack, then deletes .stack (which may
        # be a folder in /var/tmp that the clone links to).
        make("clean-stack", path, env, timeout=300)
    finally:
        shutil.rmtree(path, ignore_errors=True)


def wait_for_banner(process, log_path):
    deadline = time.monotonic() + START_DEADLINE_SECS
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if BANNER in text:
            # The banner is written in one go, but give it a moment to land whole.
            time.sleep(0.5)
            return log_path.read_text(errors="replace")
        if process.poll() is not None:
            pytest.fail(f"make run exited with {process.returncode} before the banner:\n{text[-6000:]}")
        time.sleep(1)
    pytest.fail(f"no banner within {START_DEADLINE_SECS}s:\n{log_path.read_text(errors='replace')[-6000:]}")


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def read_run_env(clone):
    values = {}
    for line in (clone / ".stack" / "run.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            # run.sh writes values with printf %q.
            values[key] = shlex.split(value)[0] if value else ""
    return values


def test_make_run_in_a_fresh_clone_serves_the_dashboard_without_nginx(clone, tmp_path):
    ports = free_ports(7)
    admin = ports[3]
    origin = f"http://127.0.0.1:{admin}"
    env = run_env(tmp_path, ports)
    log_path = tmp_path / "make-run.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run"], cwd=clone, env=env, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        output = wait_for_banner(process, log_path)
        print(f"make run in a fresh clone: banner after {time.monotonic() - started:.0f}s")

        # It said what it was doing while it built.
        for step in ["building the dashboard", "npm ci", "npm run build", "building the services"]:
            assert step in output, f"{step!r} in:\n{output[-4000:]}"
        # The banner leads with the dashboard's address and the password.
        banner = output[output.index(BANNER):]
        lines = [line.split() for line in banner.splitlines() if line.strip()]
        assert lines[1] == ["dashboard", origin], banner
        password = read_run_env(clone)["SENTORI_ADMIN_PASSWORD"]
        assert lines[2] == ["admin", "password", password], banner

        status, headers, page = request(admin, "GET", "/")
        assert status == 200, page[:500]
        assert headers["Content-Type"].startswith("text/html")
        script = re.search(rb'src="(/assets/[^"]+\.js)"', page)
        assert script, page[:1000]
        status, headers, _ = request(admin, "GET", script.group(1).decode(), headers={"Accept-Encoding": "br, gzip"})
        assert status == 200 and headers["Content-Encoding"] == "br", headers
        assert "immutable" in headers["Cache-Control"]

        status, headers, deep = request(admin, "GET", "/projects/019508a0-0000-7000-8000-000000000000/issues?status=resolved")
        assert (status, deep) == (200, page), "a deep link is the dashboard too"
        assert headers["Cache-Control"] == "no-cache"

        # Login through the dashboard's origin, as the browser does it.
        status, headers, body = request(
            admin, "POST", "/admin/api/login", body=json.dumps({"password": password}),
            headers={"Content-Type": "application/json", "Origin": origin},
        )
        assert status == 200, body
        cookie = headers["Set-Cookie"].split(";", 1)[0]
        csrf = json.loads(body)["csrfToken"]
        status, _, body = request(admin, "GET", "/admin/api/projects", headers={"Cookie": cookie})
        assert status == 200, body
        assert any(p["id"] == "019508a0-0000-7000-8000-000000000000" for p in json.loads(body)), body
        # A logged-in change is accepted from that origin: SENTORI_PUBLIC_URL is it.
        status, _, body = request(
            admin, "POST", "/admin/api/logout", headers={"Cookie": cookie, "X-Sentori-Csrf": csrf, "Origin": origin},
        )
        assert status == 200, body
    finally:
        stop = make("stop", clone, {k: v for k, v in os.environ.items() if not k.startswith("SENTORI_")}, timeout=300)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
        assert stop.returncode == 0, stop.stderr
    assert process.returncode == 0, "make stop ends make run cleanly"
    assert "stopped by `make stop`" in log_path.read_text(errors="replace")
