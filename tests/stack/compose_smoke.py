"""The compose smoke run's machinery: a Docker engine, the local images, a staged project.

No image registry is reachable from CI, so every image is made here from Debian packages
(deploy/smoke/build-images.sh) and the castwatch image is built from deploy/Dockerfile with
``PYTHON_IMAGE`` set to the Debian python stand-in. The project is staged in a temp dir (a copy
of the files compose and the image need, a generated .env, a self-signed certificate), so a
user's own .env, certs/ and secrets/ are never touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _stack_support import REPO, free_port, self_signed_cert

#: what the staged project holds: compose's files and the image's build context
STAGED = ("docker-compose.yml", "pyproject.toml", "README.md", "alembic.ini", "deploy", "nginx",
          "prometheus", "grafana", "services", "migrations", "requirements")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".venv", "node_modules")
DOCKERD_LOG = Path("/tmp/castwatch-smoke-dockerd.log")
CASTWATCH_IMAGE = "castwatch-smoke:latest"
BUILD_STAGE_IMAGE = "castwatch-smoke-build:latest"
WHEEL_CACHE = Path(os.environ.get("CASTWATCH_SMOKE_CACHE", "/var/cache/castwatch-smoke"))
PROJECT = "castwatch-smoke"


def docker_engine() -> tuple[subprocess.Popen[bytes] | None, str | None]:
    """(the dockerd this call started or None, a reason why no engine is usable or None)."""
    if shutil.which("docker") is None:
        return None, "the docker client is not installed (apt-get install docker.io)"
    if _docker_ok():
        return None, None
    dockerd = shutil.which("dockerd")
    if dockerd is None or os.geteuid() != 0:
        return None, "no Docker engine is running and this user cannot start dockerd (needs root)"
    with DOCKERD_LOG.open("ab") as log:
        process = subprocess.Popen([dockerd], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _docker_ok():
            return process, None
        if process.poll() is not None:
            break
        time.sleep(1)
    stop_dockerd(process)
    return None, f"dockerd did not start (see {DOCKERD_LOG})"


def _docker_ok() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def stop_dockerd(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def compose_command() -> list[str]:
    """``docker compose`` (v2 plugin) when present, else Debian's ``docker-compose`` (v1)."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30).returncode == 0:
        return ["docker", "compose"]
    path = shutil.which("docker-compose")
    assert path, "neither `docker compose` nor docker-compose is installed (apt-get install docker-compose)"
    return [path]


def build_images(log: Path) -> dict[str, str]:
    """Stand-in images (cached by a hash of build-images.sh) and the castwatch image."""
    with log.open("ab") as out:
        made = subprocess.run(["bash", str(REPO / "deploy/smoke/build-images.sh")], stdout=subprocess.PIPE,
                              stderr=out, timeout=3000)
    assert made.returncode == 0, f"deploy/smoke/build-images.sh failed, see {log}"
    images = dict(line.split("=", 1) for line in made.stdout.decode().split())
    return images


def build_castwatch_image(context: Path, python_image: str, log: Path) -> None:
    """deploy/Dockerfile on the Debian python stand-in, from wheels fetched here (the containers
    do not share this machine's package-index access). The classic builder: BuildKit would fetch
    its Dockerfile frontend from a registry. Docker's layer cache makes a second build with the
    same lock file quick."""
    env = dict(os.environ, DOCKER_BUILDKIT="0")
    lock = (context / "requirements" / "runtime.lock").read_bytes()
    cached = WHEEL_CACHE / f"wheels-{hashlib.sha256(lock).hexdigest()[:12]}"
    with log.open("ab") as out:
        # This machine's pip (its cache, its index and CA settings) fetches the locked wheels
        # once per lock file; the build then installs them with no index at all.
        if not cached.is_dir():
            partial = cached.with_suffix(".part")
            shutil.rmtree(partial, ignore_errors=True)
            locked = ["-r", "requirements/runtime.lock", "--require-hashes"]
            for argv in (locked, ["setuptools>=68", "wheel"]):
                fetched = subprocess.run([sys.executable, "-m", "pip", "download", "-q",
                                          "--disable-pip-version-check", "--only-binary", ":all:",
                                          "-d", str(partial), *argv],
                                         cwd=context, stdout=out, stderr=subprocess.STDOUT, timeout=1200)
                assert fetched.returncode == 0, f"pip download failed, see {log}"
            partial.rename(cached)
        shutil.copytree(cached, context / "requirements" / "wheels")
        # The build stage gets a tag too: its cached dependency layer then survives the removal
        # of the images this build replaces, and nothing is left dangling run after run.
        replaced = {tag: _image_id(tag) for tag in (BUILD_STAGE_IMAGE, CASTWATCH_IMAGE)}
        for target, tag in (("build", BUILD_STAGE_IMAGE), ("runtime", CASTWATCH_IMAGE)):
            built = subprocess.run(["docker", "build", "--force-rm", "-f", "deploy/Dockerfile",
                                    "--target", target, "--build-arg", f"PYTHON_IMAGE={python_image}",
                                    "--build-arg", "PIP_NO_INDEX=1", "-t", tag, "."],
                                   cwd=context, stdout=out, stderr=subprocess.STDOUT, timeout=2400, env=env)
            if built.returncode != 0:
                break
    assert built.returncode == 0, f"docker build failed, see {log}"
    for tag, ident in replaced.items():
        if ident and ident != _image_id(tag):
            subprocess.run(["docker", "rmi", ident], capture_output=True, timeout=120)


def _image_id(tag: str) -> str | None:
    found = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", tag], capture_output=True,
                           text=True, timeout=60)
    return found.stdout.strip() if found.returncode == 0 else None


@dataclass
class Project:
    """A staged copy of the compose project with its own .env, certificate and secrets."""

    root: Path
    http_port: int
    https_port: int
    env: dict[str, str]
    compose: list[str] = field(default_factory=compose_command)

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def ca_file(self) -> str:
        return str(self.root / "certs" / "fullchain.pem")

    def run(self, *args: str, timeout_s: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [*self.compose, "-p", PROJECT, "-f", "docker-compose.yml",
                "-f", "deploy/smoke/docker-compose.smoke.yml", *args]
        result = subprocess.run(argv, cwd=self.root, capture_output=True, text=True, timeout=timeout_s,
                                env=self.env)
        if check:
            output = f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            assert result.returncode == 0, f"{' '.join(args)}:\n{output}"
        return result

    def containers(self) -> dict[str, list[dict[str, Any]]]:
        """service name → `docker inspect` documents of its containers (any state)."""
        label = f"label=com.docker.compose.project={PROJECT}"
        ids = subprocess.run(["docker", "ps", "-aq", "--filter", label], capture_output=True, text=True,
                             timeout=30, check=True).stdout.split()
        if not ids:
            return {}
        docs = json.loads(subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True,
                                         timeout=30, check=True).stdout)
        out: dict[str, list[dict[str, Any]]] = {}
        for doc in docs:
            out.setdefault(doc["Config"]["Labels"]["com.docker.compose.service"], []).append(doc)
        return out


def stage_project(root: Path, images: dict[str, str]) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    for name in STAGED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=IGNORED)
        else:
            shutil.copy2(src, root / name)
    self_signed_cert(root / "certs")
    (root / "secrets").mkdir()
    (root / "secrets" / "castwatch_api_key").write_text("not-yet\n")
    http_port, https_port = free_port(), free_port()
    overrides = {"HTTP_PORT": str(http_port), "HTTPS_PORT": str(https_port), "PUBLISH_ADDRESS": "127.0.0.1",
                 "PUBLIC_HOSTNAME": "localhost", "TLS_CERT_DIR": "./certs",
                 # a short lease so a restarted probe re-takes its channel quickly, a short hold so
                 # a cleared fault resolves within the run
                 "PROBE_LEASE_TTL_S": "6", "PROBE_CLEAR_HOLD_S": "5",
                 # the simulated origin is a container on the stack's private network: the egress
                 # policy refuses private addresses unless the operator allows them
                 "EGRESS_ALLOW": "origin"}
    lines = []
    for line in (REPO / "deploy" / ".env.example").read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            if name in overrides:
                line = f"{name}={overrides.pop(name)}"
            elif value.strip() in {"change-me", "changeme"}:
                line = f"{name}={secrets.token_hex(16)}"
        lines.append(line)
    lines += [f"{name}={value}" for name, value in overrides.items()]
    (root / ".env").write_text("\n".join(lines) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    env.update(images, CASTWATCH_IMAGE=CASTWATCH_IMAGE, COMPOSE_HTTP_TIMEOUT="300")
    return Project(root, http_port, https_port, env)
