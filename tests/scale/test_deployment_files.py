"""The deployment files (deploy/) hold together, checked structurally and fast: every image, file, command, port,
variable and secret the compose file names exists and fits the repository. The pieces that can run without
containers do run: the entry point, the prepare job and (in test_two_rasa_servers.py) the endpoints file and the
Redis configuration. The whole stack runs in containers in `make deploy-test` (deploy/test/run.py), not here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomllib
import yaml

from bot.telegram.config import TelegramConfig
from devtools.stack import MODEL, REPO
from integrity.reports import db
from integrity.staff import accounts
from integrity.staff.models import Role

DEPLOY = REPO / "deploy"
SERVICES = {"redis", "postgres", "prepare", "admin", "rasa", "actions", "web", "telegram", "proxy"}
ONE_SHOT = {"prepare", "admin"}
PUBLIC_HOST = "integriteit.example.org"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|PASSPHRASE|DATABASE_URL")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} with the given environment; $$ is a dollar."""
    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if name in env:
            return env[name]
        if op == ":-":
            return arg
        raise KeyError(f"${{{name}}} is not set ({arg})")
    text = re.sub(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)(?:(:-|:\?)([^}]*))?\}", one, text)
    return text.replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(interpolate((DEPLOY / "compose.yaml").read_text(), {"PUBLIC_HOST": PUBLIC_HOST}))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def env_of(service: dict[str, Any]) -> dict[str, str]:
    return {name: str(value) for name, value in (service.get("environment") or {}).items()}


def dockerfile(service: dict[str, Any]) -> Path:
    build = service["build"]
    assert (DEPLOY / build["context"]).resolve() == REPO
    return REPO / build["dockerfile"]


def instructions(path: Path, keyword: str) -> list[list[str]]:
    joined = path.read_text().replace("\\\n", " ")
    return [line.split()[1:] for line in joined.splitlines() if line.startswith(keyword + " ")]


def test_the_compose_file_has_every_part_with_health_checks(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == SERVICES
    for name, service in services.items():
        assert name in ONE_SHOT or "healthcheck" in service, f"{name} has no health check"
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on unknown {needed}"
    assert int(services["rasa"]["deploy"]["replicas"]) >= 2
    assert int(services["actions"]["deploy"]["replicas"]) >= 2
    assert services["telegram"]["deploy"]["replicas"] == 1, "one webhook per bot"
    assert [s for s in services if services[s].get("ports")] == ["proxy"], "only the proxy is published"


def test_images_are_built_from_the_lock_files_on_the_right_python(services: dict[str, dict[str, Any]]) -> None:
    rasa, app = dockerfile(services["rasa"]), dockerfile(services["actions"])
    # The base image is a build argument (deploy/build-images.sh builds one from Debian's packages); its default
    # is the official image for a Docker host.
    assert instructions(rasa, "FROM")[0] == ["${BASE}"]
    assert ["BASE=python:3.10-slim-bookworm"] in instructions(rasa, "ARG")
    assert instructions(app, "FROM")[0] == ["${BASE}"]
    assert ["BASE=python:3.11-slim-bookworm"] in instructions(app, "ARG")
    assert "pip install -q -r requirements/rasa.lock" in rasa.read_text()
    assert "requirements/main.lock" in app.read_text()
    for name in ("prepare", "admin", "actions", "web", "telegram"):
        assert dockerfile(services[name]) == app and services[name]["image"] == services["actions"]["image"]
    dev = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    dev_names = {re.split(r"[<>=\[]", requirement)[0] for requirement in dev}
    excluded = re.search(r"grep -v -E '\^\(([^)]*)\)==", app.read_text())
    assert excluded and set(excluded.group(1).split("|")) == dev_names, "the app image leaves out exactly the dev tools"


def test_images_copy_only_existing_files_and_never_a_secret(services: dict[str, dict[str, Any]]) -> None:
    for path in {dockerfile(service) for service in services.values() if "build" in service}:
        allowed = [line[1:].rstrip("/") for line in Path(f"{path}.dockerignore").read_text().splitlines()
                   if line.startswith("!")]
        for args in instructions(path, "COPY"):
            for source in args[:-1]:
                source = source.rstrip("/")
                assert (REPO / source).exists() or REPO / source == MODEL, f"{path.name}: COPY {source} is missing"
                assert any(source == a or source.startswith(a + "/") for a in allowed), f"{source} is ignored"
        for secret in ("var", "var/keys", "deploy/secrets", ".env", "deploy/.env", ".venv", ".venv-rasa"):
            assert not any(secret == a or secret.startswith(a + "/") for a in allowed), f"{secret} enters the image"
        assert not any("--enable-api" in arg for args in instructions(path, "CMD") for arg in args)


def test_secrets_come_from_files_that_git_ignores(compose: dict[str, Any],
                                                  services: dict[str, dict[str, Any]]) -> None:
    declared = compose["secrets"]
    made = set(re.findall(r"^create (\w+) ", (DEPLOY / "make-secrets.sh").read_text(), re.M))
    assert made | {"tls_certificate", "tls_private_key"} == set(declared)
    for name, secret in declared.items():
        path = (DEPLOY / secret["file"]).resolve()
        assert path.parent == DEPLOY / "secrets"
        ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=REPO, check=False)
        assert ignored.returncode == 0, f"{name}: {path} is not git-ignored"
    assert "INTEGRITY_KEY_PASSPHRASE" not in (DEPLOY / "compose.yaml").read_text()
    for name, service in services.items():
        mounted = set(service.get("secrets", []))
        assert mounted <= set(declared)
        for variable, value in env_of(service).items():
            if SECRET_NAME.search(variable):
                assert variable.endswith("_FILE"), f"{name}: {variable} must come from a secret file"
            if variable.endswith("_FILE"):
                assert value.removeprefix("/run/secrets/") in mounted, f"{name}: {variable}={value} not mounted"


def test_secret_files_become_variables_inside_python_only(tmp_path: Path) -> None:
    """The images' .pth hook: NAME_FILE gives os.environ["NAME"] in the process, but not in its environment block
    (/proc/self/environ) nor in a child process's environment; the entry point refuses an unreadable file."""
    (tmp_path / "pw").write_text("s3cret-Value\n")
    code = ("import os, subprocess, sys; sys.path.insert(0, sys.argv[1]); import integrity_secret_files as s; "
            "s.load(); print(os.environ['REDIS_PASSWORD']); "
            "print('block', 's3cret' in open('/proc/self/environ').read()); "
            "print('child', 's3cret' in subprocess.run(['env'], capture_output=True, text=True).stdout)")
    ok = subprocess.run([sys.executable, "-c", code, str(DEPLOY / "docker")], capture_output=True, text=True,
                        env={"PATH": os.environ["PATH"], "REDIS_PASSWORD_FILE": str(tmp_path / "pw")}, timeout=10)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split("\n")[:3] == ["s3cret-Value", "block False", "child False"]
    pth = (DEPLOY / "docker" / "integrity-secret-files.pth").read_text()
    assert pth.startswith("import integrity_secret_files;")
    entrypoint = DEPLOY / "docker" / "entrypoint.sh"
    missing = subprocess.run(["sh", str(entrypoint), "env"], env={"PATH": os.environ["PATH"],
                             "REDIS_PASSWORD_FILE": str(tmp_path / "nope")}, capture_output=True, text=True,
                             timeout=10)
    assert missing.returncode == 1 and "REDIS_PASSWORD_FILE" in missing.stderr
    fine = subprocess.run(["sh", str(entrypoint), "env"], env={"PATH": os.environ["PATH"],
                          "REDIS_PASSWORD_FILE": str(tmp_path / "pw")}, capture_output=True, text=True, timeout=10)
    assert fine.returncode == 0 and "s3cret" not in fine.stdout, "the entry point puts no secret in the environment"


def test_rasa_gets_every_variable_of_the_endpoints_file(services: dict[str, dict[str, Any]]) -> None:
    rasa = services["rasa"]
    provided = {name.removesuffix("_FILE") for name in env_of(rasa) if not name.startswith("SANIC_")}
    lines = [line for line in (DEPLOY / "endpoints.yml").read_text().splitlines() if not line.startswith("#")]
    needed = set(re.findall(r"\$\{(\w+)\}", "\n".join(lines)))
    assert needed == provided
    command = instructions(dockerfile(rasa), "CMD")[0]
    assert '"deploy/endpoints.yml",' in command and '"credentials.yml",' in command
    assert (REPO / "credentials.yml").is_file()


def test_commands_name_modules_that_exist(services: dict[str, dict[str, Any]]) -> None:
    for name in ("actions", "web", "telegram"):
        command = services[name]["command"]
        assert command[:2] == ["python", "-m"]
        module = REPO.joinpath(*command[2].split("."))
        assert (module / "__main__.py").is_file() or module.with_suffix(".py").is_file(), f"{name}: {command[2]}"
    assert services["actions"]["command"][2] == "actions.server", "the action server checks the Rasa token"
    assert (REPO / services["prepare"]["command"][1]).is_file()
    assert (REPO / option(services["actions"]["command"], "--actions") / "__init__.py").is_file()


def test_the_proxy_balances_over_the_services_on_their_ports(compose: dict[str, Any],
                                                             services: dict[str, dict[str, Any]]) -> None:
    nginx = (DEPLOY / "nginx" / "integrity.conf").read_text()
    # The replicas are upstream groups whose servers nginx-entrypoint looks up by service name and port
    # (NGINX_REPLICATED): group NAME_replicas <- /tmp/nginx/upstream-NAME.conf <- NAME:PORT.
    groups = dict(re.findall(r"upstream (\w+)_replicas \{\s*include /tmp/nginx/upstream-(\w+)\.conf;", nginx))
    assert groups == {"rasa": "rasa", "actions": "actions"}
    entrypoint = (DEPLOY / "nginx" / "entrypoint.sh").read_text()
    replicated = re.search(r"REPLICATED=\$\{NGINX_REPLICATED:-([^}]+)\}", entrypoint).group(1)  # type: ignore[union-attr]
    ports = dict(pair.split(":") for pair in replicated.split())
    used = set(re.findall(r"proxy_pass http://(\w+)_replicas;", nginx))
    upstream_servers = {(name, ports[name]) for name in used}
    rasa_port = instructions(dockerfile(services["rasa"]), "CMD")[0][-1].strip('"]')
    actions_port = option(services["actions"]["command"], "--port")
    assert upstream_servers == {("rasa", rasa_port), ("actions", actions_port)}
    web_ip = services["web"]["networks"]["backend"]["ipv4_address"]
    assert f"proxy_pass http://{web_ip}:{option(services['web']['command'], '--port')};" in nginx
    listens = set(re.findall(r"listen (?:[\d.]+:)?(\d+)", nginx))
    for url in (env_of(services["rasa"])["ACTION_ENDPOINT_URL"], env_of(services["web"])["RASA_URL"],
                env_of(services["telegram"])["RASA_URL"]):
        host, port = re.match(r"http://([\w.]+):(\d+)", url).groups()  # type: ignore[union-attr]
        assert host == services["proxy"]["networks"]["backend"]["ipv4_address"] and port in listens
    assert env_of(services["rasa"])["REDIS_HOST"] == services["redis"]["networks"]["backend"]["ipv4_address"]
    postgres_ip = services["postgres"]["networks"]["backend"]["ipv4_address"]
    assert f"@{postgres_ip}:5432/" in (DEPLOY / "make-secrets.sh").read_text()
    proxy_ip = services["proxy"]["networks"]["backend"]["ipv4_address"]
    # The web app trusts X-Forwarded-For only from the proxy.
    assert env_of(services["web"])["FORWARDED_ALLOW_IPS"] == proxy_ip
    assert "--forwarded-allow-ips" not in services["web"]["command"]
    subnet = compose["networks"]["backend"]["ipam"]["config"][0]["subnet"]
    assert proxy_ip.rsplit(".", 1)[0] == subnet.rsplit(".", 1)[0]
    assert compose["networks"]["backend"]["internal"] is True


def test_the_telegram_gateway_accepts_its_configuration(services: dict[str, dict[str, Any]]) -> None:
    env = {name: value for name, value in env_of(services["telegram"]).items() if not name.endswith("_FILE")}
    config = TelegramConfig.from_env({**env, "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35,
                                      "TELEGRAM_WEBHOOK_SECRET": "abc"})
    assert config.mode == "webhook" and config.webhook_url == f"https://{PUBLIC_HOST}/telegram/webhook"
    nginx = (DEPLOY / "nginx" / "integrity.conf").read_text()
    gateway_ip = services["telegram"]["networks"]["backend"]["ipv4_address"]
    assert "location /telegram/" in nginx and f"proxy_pass http://{gateway_ip}:{config.webhook_port};" in nginx
    assert config.webhook_listen == gateway_ip, "the gateway listens on the backend network only"
    # Photos and documents wait in the report store (evidence files): the gateway needs the database.
    assert env_of(services["telegram"])["DATABASE_URL_FILE"] == "/run/secrets/database_url"
    assert "database_url" in services["telegram"]["secrets"]


def prepare(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    key_dir = tmp_path / "keys"
    env = {**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": f"sqlite:///{tmp_path / 'reports.db'}",
           "INTEGRITY_KEY_DIR": str(key_dir), "INTEGRITY_ARGON2_PROFILE": "test"}
    return subprocess.run([sys.executable, str(DEPLOY / "prepare.py")], env=env, capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)


def test_prepare_migrates_creates_the_shared_receipt_salt_and_names_organisations_without_keys(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTEGRITY_ARGON2_PROFILE", "test")
    done = prepare(tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "keys" / "receipt.salt").is_file() and (tmp_path / "reports.db").is_file()
    assert "no staff member with a key pair yet for federale-politie, vlaamse-overheid" in done.stderr
    engine = db.make_engine(f"sqlite:///{tmp_path / 'reports.db'}")
    with db.make_sessionmaker(engine).begin() as session:
        accounts.create_user(session, "coord", "Coord", Role.COORDINATOR, "een lang wachtwoord 42",
                             profile_id="vlaamse-overheid")
    engine.dispose()
    again = prepare(tmp_path)
    assert again.returncode == 0 and "yet for federale-politie:" in again.stderr


def test_rasa_and_the_action_server_share_the_token_secret(services: dict[str, dict[str, Any]]) -> None:
    for name in ("rasa", "actions"):
        assert env_of(services[name])["ACTION_SERVER_TOKEN_FILE"] == "/run/secrets/action_server_token", name
        assert "action_server_token" in services[name]["secrets"], name
    for name in ("web", "telegram", "proxy", "redis", "postgres"):
        assert "action_server_token" not in services[name].get("secrets", []), name
    assert "create action_server_token" in (DEPLOY / "make-secrets.sh").read_text()
    assert env_of(services["rasa"])["SANIC_REQUEST_MAX_SIZE"] == "65536"
