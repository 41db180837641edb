"""`make deploy-test`: build the images, start the whole deploy/compose.yaml with podman and test it end to end.

Everything goes through nginx over HTTPS (a test certificate made here) on 127.0.0.1:18443, as a person would:
the web chat (a topic question, the informal/formal choice, a report), the back office (log in, unlock the key,
open the report), the reporter's follow-up page (receipt code), and Telegram in webhook mode (a fake Bot API
container posts an update through nginx and records the bot's reply). Faults: a Rasa replica killed in the
middle of a conversation (twice, so the conversation really hops replicas), an action server killed during a
report submission, PostgreSQL restarted. Then isolation (only nginx publishes ports; Rasa, action server, Redis
and PostgreSQL unreachable from the host), secrets (files under /run/secrets, no secret in any container's
configuration), resource use per container (podman stats), a bounded throughput run inside the backend network,
and a backup/restore test of PostgreSQL and the key volume.

The compose project is `integrity-test` with its own secrets (var/deploy-test/secrets), so a real deployment on
the same host is never touched. It is removed at the end, also on failure or after the time limit (30 min).
Logs of every container and a JSON summary with the phase timings are left in var/deploy-test/.

    .venv/bin/python deploy/test/run.py [--keep] [--skip-build]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "var" / "deploy-test"
SECRETS = OUT / "secrets"
PROJECT = "integrity-test"
PUBLIC_HOST = "integriteit.test"
HTTPS_PORT, HTTP_PORT = 18443, 18080
BASE = f"https://localhost:{HTTPS_PORT}"
PASSPHRASE = "deploy-test-" + secrets.token_urlsafe(12)
STAFF_USER, STAFF_PASSWORD = "coordinator" + secrets.token_hex(3), "deploy-test-" + secrets.token_urlsafe(12)
TIME_LIMIT = 30 * 60
CODE = re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b")
REFERENCE = re.compile(r"M-\d{4}-[0-9A-Z]+")
TOKEN = re.compile(r'data-token="([^"]+)"')
HIDDEN = r'<input type="hidden" name="{name}" value="([^"]+)">'
ENV = {
    **os.environ,
    "CONTAINERS_CONF": str(REPO / "deploy" / "podman" / "containers.conf"),
    "SECRETS_DIR": str(SECRETS), "PUBLIC_HOST": PUBLIC_HOST, "PUBLISH_ADDRESS": "127.0.0.1",
    "HTTPS_PORT": str(HTTPS_PORT), "HTTP_PORT": str(HTTP_PORT),
    "TELEGRAM_API_BASE_URL": "http://fake-telegram:8081", "TELEGRAM_SOURCE_RANGES": "172.31.251.0/24",
    "COMPOSE_FILES": str(REPO / "deploy" / "test" / "compose.test.yaml"),
}


class DeployTestError(RuntimeError):
    pass


class TimeLimit(BaseException):
    pass


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} deploy-test: {message}", flush=True)


def check(condition: object, message: str) -> None:
    if not condition:
        raise DeployTestError(message)


# --- commands -----------------------------------------------------------------------------------------------------


def run(*args: str, check_rc: bool = True, timeout: float = 900, quiet: bool = False,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=REPO, env=env or ENV, capture_output=True, text=True, timeout=timeout)
    if check_rc and result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise DeployTestError(f"command failed ({result.returncode}): {' '.join(args)}\n{tail}")
    if not quiet and result.returncode == 0 and result.stderr.strip():
        errors = [line for line in result.stderr.splitlines() if "systemd" not in line and "syslog" not in line]
        if errors:
            print("\n".join(errors[-5:]), file=sys.stderr)
    return result


def compose(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return run(str(REPO / "deploy" / "compose.sh"), "-p", PROJECT, "--profile", "telegram", *args, timeout=timeout,
               quiet=True)


def podman(*args: str, check_rc: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return run("podman", *args, check_rc=check_rc, timeout=timeout, quiet=True)


def container(service: str, index: int = 1) -> str:
    return f"{PROJECT}_{service}_{index}"


def healthy(name: str) -> bool:
    """Run the container's health check now (podman 4.3 needs systemd timers to run it by itself)."""
    return podman("healthcheck", "run", name, check_rc=False, timeout=30).returncode == 0


def wait_healthy(names: list[str], timeout: float = 300) -> None:
    deadline, waiting = time.monotonic() + timeout, list(names)
    while waiting:
        waiting = [name for name in waiting if not healthy(name)]
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise DeployTestError(f"not healthy after {timeout:.0f} s: {', '.join(waiting)} "
                                  f"(logs in {OUT / 'logs'})")
        time.sleep(2)


# --- phases -------------------------------------------------------------------------------------------------------


class Phases:
    def __init__(self) -> None:
        self.timings: list[tuple[str, float, str]] = []
        self.results: dict[str, Any] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        log(f"--- {name}")
        start, status = time.monotonic(), "failed"
        try:
            yield
            status = "ok"
        finally:
            seconds = time.monotonic() - start
            self.timings.append((name, seconds, status))
            log(f"    {name}: {status} in {seconds:.1f} s")


def make_secrets() -> None:
    shutil.rmtree(SECRETS, ignore_errors=True)
    run(str(REPO / "deploy" / "make-secrets.sh"),
        env={**ENV, "TELEGRAM_BOT_TOKEN": "700000001:" + secrets.token_urlsafe(27).replace("-", "a")})
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={PUBLIC_HOST}",
        "-addext", f"subjectAltName=DNS:{PUBLIC_HOST},DNS:localhost,IP:127.0.0.1",
        "-keyout", str(SECRETS / "tls_private_key"), "-out", str(SECRETS / "tls_certificate"))
    for name in ("tls_private_key", "tls_certificate"):
        (SECRETS / name).chmod(0o444)


def start_stack() -> None:
    """In stages: podman 4.3 cannot wait for `service_healthy` (podman-compose skips those conditions on podman
    < 4.6), so each stage is started with --no-deps once the one before it passed its health checks."""
    compose("up", "-d", "--no-deps", "postgres", "redis")
    wait_healthy([container("postgres"), container("redis")], timeout=120)
    compose("run", "--rm", "-T", "--no-deps", "prepare")
    compose("up", "-d", "--no-deps", "rasa", "actions", "web")
    wait_healthy([container("rasa", 1), container("rasa", 2), container("actions", 1), container("actions", 2),
                  container("web")], timeout=420)
    compose("up", "-d", "--no-deps", "proxy")
    wait_healthy([container("proxy")], timeout=120)
    compose("up", "-d", "--no-deps", "telegram", "fake-telegram")
    wait_healthy([container("telegram"), container("fake-telegram")], timeout=120)


def save_logs() -> None:
    (OUT / "logs").mkdir(parents=True, exist_ok=True)
    names = podman("ps", "-a", "--filter", f"label=io.podman.compose.project={PROJECT}", "--format", "{{.Names}}",
                   check_rc=False).stdout.split()
    for name in names:
        result = podman("logs", name, check_rc=False)
        (OUT / "logs" / f"{name}.log").write_text(result.stdout + result.stderr)


def clean_up(keep: bool) -> None:
    save_logs()
    if keep:
        log(f"--keep: the stack is still running (deploy/compose.sh -p {PROJECT} down -v to remove it)")
        return
    compose("down", "-v", "-t", "5", timeout=300)
    podman("volume", "rm", "-f", f"{PROJECT}_restore_keys", check_rc=False)
    leftovers = podman("ps", "-a", "--filter", f"label=io.podman.compose.project={PROJECT}", "--format",
                       "{{.Names}}", check_rc=False).stdout.split()
    for name in leftovers:
        podman("rm", "-f", name, check_rc=False)
    shutil.rmtree(SECRETS, ignore_errors=True)


# --- the web through nginx ----------------------------------------------------------------------------------------


def client() -> httpx.Client:
    return httpx.Client(base_url=BASE, verify=str(SECRETS / "tls_certificate"), timeout=90, trust_env=False)


def joined(messages: list[dict[str, Any]]) -> str:
    parts = []
    for message in messages:
        parts.append(message.get("text", ""))
        parts.extend(f"[{b['title']} {b['payload']}]" for b in message.get("buttons", []))
    return "\n".join(parts)


RESENT: list[str] = []  # every message WebChat.say had to send again


class WebChat:
    """One browser tab of the web chat at https://.../chat."""

    def __init__(self, http: httpx.Client) -> None:
        self.http, self.session = http, secrets.token_urlsafe(24)
        page = http.get("/chat")
        check(page.status_code == 200, f"GET /chat answered {page.status_code}")
        match = TOKEN.search(page.text)
        check(match, "no CSRF token on /chat")
        assert match
        self.token = match.group(1)

    def send(self, text: str) -> tuple[int, dict[str, Any]]:
        response = self.http.post("/chat/berichten", json={"session": self.session, "text": text},
                                  headers={"X-CSRF-Token": self.token})
        body = response.json()
        self.token = body.get("token", self.token)
        return response.status_code, body

    def say(self, text: str) -> str:
        """Send and expect an answer. A 503 ("Probeer het zo opnieuw") is resent after 5 s, as a person would, at
        most twice, and recorded in RESENT: Debian's aardvark-dns drops lookups while it reloads on any container
        start or stop (docs/deployment.md), which can fail a message sent in that moment."""
        for attempt in range(3):
            status, body = self.send(text)
            if status != 503 or attempt == 2:
                break
            RESENT.append(f"{time.strftime('%H:%M:%S')} {text[:40]!r}: 503, resent")
            time.sleep(5)
        check(status == 200, f"web chat answered {status} to {text!r}: {body}")
        return joined(body["messages"])

    def say_until_answered(self, text: str, notes: list[str], tries: int = 4, pause: float = 10) -> str:
        """What a person does when the chat says it is unreachable ("Probeer het zo opnieuw"): send it again."""
        for attempt in range(1, tries + 1):
            status, body = self.send(text)
            if status == 200:
                return joined(body["messages"])
            notes.append(f"{text!r}: HTTP {status} on try {attempt}; {lock_keys()}")
            time.sleep(pause)
        raise DeployTestError(f"no answer to {text!r} after {tries} tries: {notes}")


REPORT_ANSWERS = ["Fraude en corruptie", "Mijn chef laat valse facturen betalen. {marker}", "sinds januari",
                  "afdeling aankoop", "Overslaan", "Overslaan", "Anoniem blijven", "Audit Vlaanderen"]


def fill_in_report(chat: WebChat, marker: str) -> None:
    check("Waarover gaat je melding" in chat.say("/melding_starten"), "the report form did not start")
    reply = ""
    for answer in REPORT_ANSWERS:
        reply = chat.say(answer.format(marker=marker))
    check(marker in reply and "Klopt alles" in reply, f"no summary with the report text: {reply[:300]}")


def confirmed(reply: str) -> tuple[str, str] | None:
    code, reference = CODE.search(reply), REFERENCE.search(reply)
    return (code.group(), reference.group()) if code and reference else None


class BackOffice:
    """A coordinator in the back office through nginx: logged in; the password opened their key."""

    def __init__(self) -> None:
        self.http = client()
        for attempt in range(3):  # a person logs in again after an error page (e.g. just after a database restart)
            page = self.http.get("/beheer/aanmelden")
            response = self.http.post("/beheer/aanmelden", data={
                "csrf": hidden(page.text, "csrf", "/beheer/aanmelden"), "gebruiker": STAFF_USER,
                "wachtwoord": STAFF_PASSWORD, "volgende": ""})
            if response.status_code < 500 or attempt == 2:
                break
            RESENT.append(f"{time.strftime('%H:%M:%S')} back office login: {response.status_code}, tried again")
            time.sleep(10)
        check(response.status_code == 303, f"login answered {response.status_code}")

    def references(self) -> list[str]:
        page = self.http.get("/beheer/meldingen")
        check(page.status_code == 200, f"/beheer/meldingen answered {page.status_code}")
        return sorted(set(re.findall(r'href="/beheer/meldingen/(M-[0-9A-Z-]+)"', page.text)))

    def open(self, reference: str) -> str:
        page = self.http.get(f"/beheer/meldingen/{reference}")
        check(page.status_code == 200, f"opening {reference} answered {page.status_code}")
        return page.text

    def reports_with(self, marker: str) -> list[str]:
        return [ref for ref in self.references() if marker in self.open(ref)]


def hidden(html: str, name: str, action: str | None = None) -> str:
    """A hidden field; with `action`, of the form posting there (pages also have the logout form)."""
    if action:
        parts = html.split(f'action="{action}"')
        check(len(parts) > 1, f"no form posting to {action}")
        html = parts[1].split("</form>")[0]
    match = re.search(HIDDEN.format(name=name), html)
    check(match, f"no hidden field {name!r} in the page")
    assert match
    return match.group(1)


def follow_up(code: str) -> str:
    """The reference the follow-up page shows for `code`."""
    with client() as http:
        form = http.get("/opvolgen")
        page = http.post("/opvolgen", data={"csrf": hidden(form.text, "csrf"), "code": code})
        check(page.status_code == 200, f"follow-up with the receipt code answered {page.status_code}")
        match = re.search(r"<h1>Je melding (M-[0-9A-Z-]+)</h1>", page.text)
        check(match, "the follow-up page does not show the report")
        assert match
        return match.group(1)


# --- the tests ----------------------------------------------------------------------------------------------------


def test_topic_and_choice(results: dict[str, Any]) -> None:
    """A topic question and the informal/formal choice through nginx."""
    with client() as http:
        chat = WebChat(http)
        question = chat.say("Een collega pest mij al maanden en maakt me belachelijk in vergaderingen.")
        check("/kies_formeel" in question and "/kies_informeel" in question,
              f"no informal/formal choice after the bullying question: {question[:400]}")
        formal = chat.say("/kies_formeel")
        check("preventieadviseur" in formal, f"the formal route for bullying is missing: {formal[:300]}")
        results["topic_question_reply"], results["formal_reply"] = question[:300], formal[:300]


def kill(service: str, index: int) -> None:
    """SIGKILL one replica. podman does not apply the restart policy to a container stopped with `podman kill`, so
    the test starts it again itself (revive), as an orchestrator would."""
    podman("kill", container(service, index))


def revive(service: str, index: int) -> None:
    podman("start", container(service, index))


def lock_keys() -> str:
    """The conversation lock keys in Redis (db 1), to tell a waiting lock from a slow server."""
    result = podman("exec", container("redis"), "sh", "-c", 'redis-cli --no-auth-warning -a "$(cat '
                    '/run/secrets/redis_password)" -n 1 --scan', check_rc=False)
    return f"lock keys in Redis: {result.stdout.split() or 'none'}"


def test_rasa_replicas_killed_mid_conversation(results: dict[str, Any]) -> None:
    """A report form with both Rasa replicas killed in turn: rasa 1 after the report text (the next turn can only
    be answered by rasa 2), then rasa 2 once rasa 1 is back (the next turn only by rasa 1). The form goes on at
    the right question each time and the summary holds every answer: the state is in Redis, not in a replica."""
    timings: dict[str, Any] = {}
    notes: list[str] = []
    with client() as http:
        chat = WebChat(http)
        marker = "DEPLOY-KILL-RASA-" + secrets.token_hex(3).upper()
        check("Waarover gaat je melding" in chat.say("/melding_starten"), "the report form did not start")
        chat.say(REPORT_ANSWERS[0])
        check("Wanneer" in chat.say(REPORT_ANSWERS[1].format(marker=marker)), "no 'when' question")
        log("killing rasa 1 in the middle of the report form")
        kill("rasa", 1)
        started = time.monotonic()
        where = chat.say_until_answered(REPORT_ANSWERS[2], notes)  # only rasa 2 is up
        timings["turn_after_killing_rasa_1_s"] = round(time.monotonic() - started, 2)
        revive("rasa", 1)
        check("Waar gebeurde het" in where, f"rasa 2 did not continue the form: {where[:300]}")
        wait_healthy([container("rasa", 1)], timeout=300)
        log("rasa 1 is back; killing rasa 2")
        kill("rasa", 2)
        started = time.monotonic()
        after = chat.say_until_answered(REPORT_ANSWERS[3], notes)  # only rasa 1 is up
        timings["turn_after_killing_rasa_2_s"] = round(time.monotonic() - started, 2)
        revive("rasa", 2)
        check("Waar gebeurde het" not in after and "Wanneer" not in after,
              f"rasa 1 did not continue the form: {after[:300]}")
        reply = ""
        for answer in REPORT_ANSWERS[4:]:
            reply = chat.say(answer)
        for given in (marker, "sinds januari", "afdeling aankoop"):
            check(given in reply, f"the summary lost {given!r} across the replicas: {reply[:400]}")
        wait_healthy([container("rasa", 2)], timeout=300)
        done = chat.say("Verzenden")
        check(confirmed(done), f"the report was not confirmed after the replica kills: {done[:300]}")
    timings["retries"] = notes  # a refused or timed-out turn that the user had to send again
    results["rasa_kill"] = timings


def test_report_back_office_follow_up(results: dict[str, Any], office: BackOffice) -> tuple[str, str]:
    with client() as http:
        chat = WebChat(http)
        marker = "DEPLOY-REPORT-" + secrets.token_hex(3).upper()
        fill_in_report(chat, marker)
        done = chat.say("Verzenden")
        got = confirmed(done)
        check(got, f"no receipt code after 'Verzenden': {done[:300]}")
        assert got
        code, reference = got
    page = office.open(reference)
    check(marker in page and "afdeling aankoop" in page, "the back office does not show the report's text")
    check(follow_up(code) == reference, "the receipt code does not open the report")
    results["report"] = {"reference": reference, "marker": marker}
    return code, reference


def test_action_server_killed_during_submission(results: dict[str, Any], office: BackOffice) -> tuple[str, str]:
    """Kill an action server while 'Verzenden' is on its way, once each replica (nginx alternates between them, so
    at least one kill usually hits the replica holding the submission); whatever the user is told, no confirmed
    report is lost and none is stored twice (the submission id makes a retry idempotent)."""
    runs = [kill_action_server_during_submission(office, index) for index in (1, 2)]
    results["kill_action_server"] = [run for run, _ in runs]
    return runs[0][1]


def kill_action_server_during_submission(office: BackOffice, index: int) -> tuple[dict[str, Any], tuple[str, str]]:
    with client() as http:
        chat = WebChat(http)
        marker = "DEPLOY-KILL-ACTIONS-" + secrets.token_hex(3).upper()
        fill_in_report(chat, marker)
        outcome: dict[str, tuple[int, dict[str, Any]]] = {}
        sender = threading.Thread(target=lambda: outcome.setdefault("sent", chat.send("Verzenden")))
        sender.start()
        time.sleep(0.3)  # the submission is in Rasa or in an action server (Argon2 takes ~0.4 s)
        kill("actions", index)
        sender.join(120)
        revive("actions", index)
        status, body = outcome["sent"]
        first = confirmed(joined(body.get("messages", []))) if status == 200 else None
        attempts = [f"first try: HTTP {status}, " + ("confirmed" if first else "not confirmed")]
        got = first
        for _ in range(4):  # what a user does when no code was shown: start the report again and send it
            if got:
                break
            time.sleep(3)
            status, body = chat.send("/melding_starten")
            text = joined(body.get("messages", [])) if status == 200 else ""
            if status == 200 and "Klopt alles" not in text:  # the form was lost: fill it in again
                for answer in REPORT_ANSWERS:
                    chat.say(answer.format(marker=marker))
            status, body = chat.send("Verzenden")
            got = confirmed(joined(body.get("messages", []))) if status == 200 else None
            attempts.append(f"retry: HTTP {status}, " + ("confirmed" if got else "not confirmed"))
        check(got, f"the report was never confirmed: {attempts}")
        assert got
        code, reference = got
    wait_healthy([container("actions", index)], timeout=120)
    stored = office.reports_with(marker)
    check(stored == [reference], f"reports holding {marker}: {stored}, expected exactly [{reference}]")
    check(follow_up(code) == reference, "the confirmed receipt code does not open the report")
    return {"killed": container("actions", index), "attempts": attempts, "reference": reference,
            "stored": stored}, (code, reference)


def test_postgres_restart(results: dict[str, Any], office: BackOffice, confirmed_reports: list[tuple[str, str]]) \
        -> None:
    before = office.references()
    started = time.monotonic()
    podman("restart", "-t", "10", container("postgres"))
    wait_healthy([container("postgres")], timeout=120)
    results["postgres_restart_s"] = round(time.monotonic() - started, 1)
    with client() as http:  # the app recovers: a new report is stored and confirmed
        chat = WebChat(http)
        marker = "DEPLOY-AFTER-PG-" + secrets.token_hex(3).upper()
        fill_in_report(chat, marker)
        notes: list[str] = []
        done = chat.say_until_answered("Verzenden", notes)
        if not confirmed(done):  # the first use of a pool connection broken by the restart may fail once
            done = chat.say_until_answered("Verzenden", notes)
        got = confirmed(done)
        check(got, f"no receipt code after the PostgreSQL restart: {done[:300]}")
        assert got
    after = BackOffice().references()  # a new login: the sessions in PostgreSQL survived too, but start clean
    check(set(before) <= set(after), f"reports lost in the restart: {sorted(set(before) - set(after))}")
    for code, reference in [*confirmed_reports, got]:
        check(follow_up(code) == reference, f"{reference} no longer opens with its code after the restart")
    results["postgres_restart"] = {"before": len(before), "after": len(after), "new": got[1], "resent": notes}


def test_telegram(results: dict[str, Any]) -> None:
    result = podman("exec", container("fake-telegram"), "python", "/fake/fake_telegram.py", "send",
                    "Mag ik een geschenk van een leverancier aannemen?", timeout=120)
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    texts = [reply.get("text", "") for reply in answer["replies"]]
    check(texts and any(texts), f"the bot did not answer on Telegram: {answer}")
    check(answer["webhook"].startswith(f"https://{PUBLIC_HOST}:"), f"webhook not registered through nginx: {answer}")
    results["telegram"] = {"webhook": answer["webhook"], "reply": texts[0][:300]}


def test_isolation(results: dict[str, Any]) -> None:
    published = {}
    for line in podman("ps", "--filter", f"label=io.podman.compose.project={PROJECT}", "--format",
                       "{{.Names}} {{.Ports}}").stdout.splitlines():
        name, _, ports = line.partition(" ")
        if ports.strip():
            published[name] = ports.strip()
    check(list(published) == [container("proxy")], f"containers with published ports: {published}")
    for port in (5005, 5055, 6379, 5432, 8000, 8443):  # nothing of the backend on the host's loopback
        with socket.socket() as sock:
            sock.settimeout(2)
            check(sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} is reachable on the host")
    # The backend network is internal (no route out). The host has an address on its bridge (podman's DNS server
    # answers there), so deploy/host-firewall.sh rejects new connections from the host into it.
    inspect = json.loads(podman("network", "inspect", f"{PROJECT}_backend").stdout)[0]
    interface = inspect.get("network_interface", "")
    addresses = run("ip", "-o", "addr", "show", "dev", interface, check_rc=False, quiet=True).stdout
    check(inspect.get("internal") is True, "the backend network is not internal")
    unreachable = {}
    targets = [(service, port, "backend") for service, port in
               (("rasa", 5005), ("actions", 5055), ("redis", 6379), ("postgres", 5432), ("web", 8000),
                ("telegram", 8443), ("proxy", 5005), ("proxy", 5055))]
    targets += [("proxy", 5005, "edge"), ("proxy", 5055, "edge"), ("telegram", 8443, "edge")]
    for service, port, network in targets:
        ip = json.loads(podman("inspect", container(service)).stdout)[0]["NetworkSettings"]["Networks"][
            f"{PROJECT}_{network}"]["IPAddress"]
        with socket.socket() as sock:
            sock.settimeout(3)
            try:
                rc = sock.connect_ex((ip, port))
            except OSError as exc:
                rc = exc.errno or -1
        unreachable[f"{service} {network} {ip}:{port}"] = f"connect: {os.strerror(rc) if rc > 0 else rc}"
        check(rc != 0, f"{service} at {ip}:{port} is reachable from the host")
    results["isolation"] = {"published": published, "host_address_on_backend_bridge": addresses.strip() or "none",
                            "from_host": unreachable}


def test_secrets(results: dict[str, Any]) -> None:
    values = {path.name: path.read_text().strip() for path in SECRETS.iterdir()
              if path.name not in ("tls_certificate",) and path.read_text().strip()}
    names = podman("ps", "--filter", f"label=io.podman.compose.project={PROJECT}", "--format",
                   "{{.Names}}").stdout.split()
    mounted = {}
    for name in names:
        config = podman("inspect", name).stdout
        for secret, value in values.items():
            check(value not in config, f"{secret} appears in the configuration of {name} (podman inspect)")
        listing = podman("exec", name, "sh", "-c", "ls /run/secrets 2>/dev/null", check_rc=False).stdout.split()
        mounted[name] = listing
        # The environment block of every process in the container (the services, Sanic's spawned workers).
        environments = podman("exec", name, "sh", "-c", "cat /proc/[0-9]*/environ 2>/dev/null",
                              check_rc=False).stdout
        for secret, value in values.items():
            check(value not in environments, f"{secret} is in a process environment in {name}")
    check("database_url" in mounted[container("web")] and "redis_password" in mounted[container("rasa")],
          f"secret files missing: {mounted}")
    results["secrets"] = {"mounted": mounted, "in_container_config": "none", "in_process_environments": "none"}


def seconds(duration: str) -> float:
    """A Go duration as podman prints it ('1m2.5s', '73.4ms', '812µs') in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    return sum(float(value) * units[unit] for value, unit in re.findall(r"([\d.]+)(h|ms|m|s|us|µs|ns)", duration))


def cpu_times() -> dict[str, float]:
    stats = json.loads(podman("stats", "--no-stream", "--format", "json").stdout or "[]")
    return {row["name"]: seconds(row["cpu_time"]) for row in stats if row["name"].startswith(PROJECT)}


def measure_resources(results: dict[str, Any]) -> None:
    stats = json.loads(podman("stats", "--no-stream", "--format", "json").stdout or "[]")
    usage = {}
    for row in stats:
        name = row.get("name") or row.get("Name")
        if name and name.startswith(PROJECT):
            usage[name] = {"mem": row.get("mem_usage") or row.get("MemUsage"), "cpu": row.get("cpu_percent")
                           or row.get("CPU")}
    results["resources"] = usage
    for name, row in sorted(usage.items()):
        log(f"    {name}: memory {row['mem']}, cpu {row['cpu']}")


LOAD_SCRIPT = r"""
import json, statistics, sys, threading, time, urllib.request, uuid
users, turns = int(sys.argv[1]), int(sys.argv[2])
texts = ["hallo", "mag ik een geschenk van een leverancier aannemen", "en als het een fles wijn is",
         "een collega pest mij", "/kies_informeel", "bedankt"]
times, errors, lock = [], [], threading.Lock()
def user():
    sender = "load-" + uuid.uuid4().hex
    for i in range(turns):
        body = json.dumps({"sender": sender, "message": texts[i % len(texts)]}).encode()
        request = urllib.request.Request("http://172.31.250.10:5005/webhooks/rest/webhook", data=body,
                                         headers={"Content-Type": "application/json"})
        start = time.monotonic()
        try:
            urllib.request.urlopen(request, timeout=60).read()
            with lock: times.append(time.monotonic() - start)
        except Exception as exc:
            with lock: errors.append(type(exc).__name__)
start = time.monotonic()
threads = [threading.Thread(target=user) for _ in range(users)]
[t.start() for t in threads]; [t.join(120) for t in threads]
elapsed = time.monotonic() - start
times.sort()
print(json.dumps({"users": users, "turns": len(times), "errors": len(errors), "seconds": round(elapsed, 1),
                  "turns_per_s": round(len(times) / elapsed, 2),
                  "p50_ms": round(1000 * statistics.median(times)),
                  "p95_ms": round(1000 * times[int(0.95 * len(times)) - 1])}))
"""


def measure_throughput(results: dict[str, Any]) -> None:
    """Bounded load from inside the backend network (the web container), through nginx to both Rasa replicas and
    both action servers: 1 user x 30 turns, then 8 users x 12 turns."""
    runs = []
    log(f"    load average of the machine before: {os.getloadavg()[0]:.1f} (2 cores, shared with other work)")
    for users, turns in ((1, 30), (8, 12)):
        before = cpu_times()
        out = podman("exec", container("web"), "python", "-c", LOAD_SCRIPT, str(users), str(turns), timeout=300)
        after = cpu_times()
        result = json.loads(out.stdout.strip().splitlines()[-1])
        # CPU time each container used per turn: what sizing needs, whatever else the machine was doing.
        result["cpu_ms_per_turn"] = {name.removeprefix(PROJECT + "_"): round(1000 * (after[name] - before[name])
                                                                             / max(result["turns"], 1), 1)
                                     for name in after if name in before and after[name] > before[name]}
        runs.append(result)
        log(f"    load {runs[-1]}")
    results["throughput"] = runs
    results["load_average_during_throughput"] = [round(x, 2) for x in os.getloadavg()]
    measure_resources(results)
    results["resources_after_load"] = results.pop("resources")


# Inside the postgres container: the role `integrity` over TCP with its password file (the OS user is postgres).
PG = 'PGPASSWORD="$(cat /run/secrets/postgres_password)"'
PG_ARGS = "-h 127.0.0.1 -U integrity"


def test_backup_restore(results: dict[str, Any], report: tuple[str, str]) -> None:
    """pg_dump and a tar of the key volume; restored into a second database and a new volume, from which the
    report CLI decrypts the report with the passphrase."""
    backup = OUT / "backup"
    backup.mkdir(parents=True, exist_ok=True)
    dump = subprocess.run(["podman", "exec", container("postgres"), "sh", "-c",
                           f"{PG} pg_dump {PG_ARGS} -Fc integrity"], env=ENV, capture_output=True, timeout=120)
    check(dump.returncode == 0 and dump.stdout, f"pg_dump failed: {dump.stderr.decode()[-300:]}")
    (backup / "integrity.dump").write_bytes(dump.stdout)
    keys = subprocess.run(["podman", "run", "--rm", "--network", "none", "-v", f"{PROJECT}_keys:/keys:ro",
                           "--entrypoint", "tar", "localhost/integrity-app:latest", "-C", "/keys", "-c", "."],
                          env=ENV, capture_output=True, timeout=120)
    check(keys.returncode == 0 and keys.stdout, f"backing up the key volume failed: {keys.stderr.decode()[-300:]}")
    (backup / "keys.tar").write_bytes(keys.stdout)
    podman("exec", container("postgres"), "sh", "-c", f"{PG} dropdb {PG_ARGS} --if-exists integrity_restore && "
           f"{PG} createdb {PG_ARGS} integrity_restore")
    restore = subprocess.run(["podman", "exec", "-i", container("postgres"), "sh", "-c",
                              f"{PG} pg_restore {PG_ARGS} --no-owner -d integrity_restore"], input=dump.stdout,
                             env=ENV, capture_output=True, timeout=120)
    check(restore.returncode == 0, f"pg_restore failed: {restore.stderr.decode()[-300:]}")
    podman("volume", "rm", "-f", f"{PROJECT}_restore_keys", check_rc=False)
    podman("volume", "create", f"{PROJECT}_restore_keys")
    untar = subprocess.run(["podman", "run", "--rm", "-i", "--network", "none", "--user", "app", "-v",
                            f"{PROJECT}_restore_keys:/keys", "--entrypoint", "tar", "localhost/integrity-app:latest",
                            "-C", "/keys", "-x"], input=keys.stdout, env=ENV, capture_output=True, timeout=120)
    check(untar.returncode == 0, f"restoring the key volume failed: {untar.stderr.decode()[-300:]}")
    url = (SECRETS / "database_url").read_text().strip().rsplit("/", 1)[0] + "/integrity_restore"
    code, reference = report
    listed = podman("run", "--rm", "--network", f"{PROJECT}_backend", "-v", f"{PROJECT}_restore_keys:/keys:ro",
                    "-e", f"DATABASE_URL={url}", "-e",
                    "INTEGRITY_KEY_DIR=/keys", "localhost/integrity-app:latest", "python", "-m",
                    "integrity.reports.cli", "list").stdout
    check(reference in listed, f"{reference} is not in the restored database")
    report_id = next(line.split()[0] for line in listed.splitlines() if reference in line)
    shown = podman("run", "--rm", "--network", f"{PROJECT}_backend", "-v", f"{PROJECT}_restore_keys:/keys:ro",
                   "-e", f"DATABASE_URL={url}", "-e", f"INTEGRITY_STAFF_PASSWORD={STAFF_PASSWORD}", "-e",
                   "INTEGRITY_KEY_DIR=/keys", "localhost/integrity-app:latest", "python", "-m",
                   "integrity.reports.cli", "show", "--no-mark-read", "--user", STAFF_USER, report_id).stdout
    check("afdeling aankoop" in shown, "the restored report could not be decrypted with the coordinator's key")
    followed = podman("run", "--rm", "--network", f"{PROJECT}_backend", "-v", f"{PROJECT}_restore_keys:/keys:ro",
                      "-e", f"DATABASE_URL={url}", "-e", "INTEGRITY_KEY_DIR=/keys", "localhost/integrity-app:latest",
                      "python", "-c", "import sys; from integrity.reports import db, reporter; "
                      "from integrity.settings import DomainSettings; "
                      "s = db.session_factory(DomainSettings.from_env().database_url)(); "
                      "print(reporter.follow_up(s, sys.argv[1], "
                      "throttle_key='restore-test').reference)", code).stdout.strip()
    check(followed == reference, f"the receipt code does not open {reference} in the restored copy: {followed}")
    podman("exec", container("postgres"), "sh", "-c", f"{PG} dropdb {PG_ARGS} integrity_restore")
    results["backup_restore"] = {"dump_bytes": len(dump.stdout), "keys_tar_bytes": len(keys.stdout),
                                 "restored_report": reference, "decrypted": True, "receipt_code_opens": True}


# --- main ---------------------------------------------------------------------------------------------------------


def start(args: argparse.Namespace, phases: Phases) -> None:
    with phases.phase("remove a leftover test stack"):
        compose("down", "-v", "-t", "5", timeout=300)
    if not args.skip_build:
        with phases.phase("build images"):
            print(run(str(REPO / "deploy" / "build-images.sh"), timeout=1500).stdout, end="")
    with phases.phase("secrets and test certificate"):
        make_secrets()
    with phases.phase("start the stack and wait for every health check"):
        start_stack()
    with phases.phase("resources at rest"):
        measure_resources(phases.results)
        phases.results["resources_at_rest"] = phases.results.pop("resources")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="leave the stack running at the end")
    parser.add_argument("--skip-build", action="store_true", help="use the images already built")
    parser.add_argument("--reuse", action="store_true", help="test the stack a --keep run left running")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    global PASSPHRASE
    kept = OUT / "test-passphrase"  # only while a --keep stack runs (a test key pair, no real data)
    if args.reuse:
        PASSPHRASE = kept.read_text()
    elif args.keep:
        kept.write_text(PASSPHRASE)
    phases = Phases()
    results = phases.results

    def over_time(*_: Any) -> None:
        raise TimeLimit(f"time limit of {TIME_LIMIT // 60} minutes reached")

    def stopped(*_: Any) -> None:
        raise TimeLimit("stopped by SIGTERM")

    signal.signal(signal.SIGALRM, over_time)
    signal.signal(signal.SIGTERM, stopped)
    signal.alarm(TIME_LIMIT)
    started, failure, added_rule = time.monotonic(), None, False
    try:
        with phases.phase("host packages (podman, runc, debootstrap) and firewall rule"):
            run(str(REPO / "deploy" / "host-setup.sh"))
            added_rule = run(str(REPO / "deploy" / "host-firewall.sh"), "check", check_rc=False).returncode != 0
            run(str(REPO / "deploy" / "host-firewall.sh"), "add")
        if not args.reuse:
            start(args, phases)
        with phases.phase("create a coordinator account"):
            podman("exec", "-e", f"INTEGRITY_STAFF_PASSWORD={STAFF_PASSWORD}", container("web"),
                   "/usr/local/bin/entrypoint", "python", "-m", "integrity.staff", "create-user", STAFF_USER,
                   "--role", "coordinator", "--profile", "vlaamse-overheid")
        with phases.phase("web chat: topic question and the informal/formal choice"):
            test_topic_and_choice(results)
        skip = os.environ.get("DEPLOY_TEST_SKIP", "")  # only while developing this script: tests not to run
        if "rasa-kill" not in skip:
            with phases.phase("web chat: both Rasa replicas killed in turn during a report form"):
                test_rasa_replicas_killed_mid_conversation(results)
        with phases.phase("web chat report, back office (log in, open it), follow-up with the receipt code"):
            office = BackOffice()
            first = test_report_back_office_follow_up(results, office)
        with phases.phase("action server killed during a report submission"):
            second = test_action_server_killed_during_submission(results, office)
        with phases.phase("PostgreSQL restarted"):
            test_postgres_restart(results, office, [first, second])
        with phases.phase("Telegram webhook through nginx (fake Bot API)"):
            test_telegram(results)
        with phases.phase("only nginx is published; backend unreachable from the host"):
            test_isolation(results)
        with phases.phase("secrets are files, in no container configuration or process environment"):
            test_secrets(results)
        with phases.phase("throughput inside the backend network, resources under load"):
            measure_throughput(results)
        with phases.phase("backup and restore of PostgreSQL and the key volume"):
            test_backup_restore(results, first)
    except (DeployTestError, TimeLimit, subprocess.TimeoutExpired, httpx.HTTPError, KeyError, ValueError) as exc:
        failure = f"{type(exc).__name__}: {exc}"
    except KeyboardInterrupt:
        failure = "interrupted"
    finally:
        signal.alarm(0)
        with phases.phase("clean up"):
            try:
                clean_up(args.keep or args.reuse)
                if added_rule and not (args.keep or args.reuse):
                    run(str(REPO / "deploy" / "host-firewall.sh"), "remove")
            except (DeployTestError, subprocess.TimeoutExpired) as exc:
                print(f"deploy-test: clean-up incomplete: {exc}", file=sys.stderr)
    total = time.monotonic() - started
    summary = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "passed": failure is None,
               "failure": failure, "total_s": round(total, 1), "resent_after_503": RESENT,
               "phases": [{"phase": n, "seconds": round(s, 1), "status": st} for n, s, st in phases.timings],
               **results}
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print("\nphase                                                                              seconds  status")
    for name, seconds, status in phases.timings:
        print(f"{name:<82} {seconds:7.1f}  {status}")
    print(f"{'total':<82} {total:7.1f}")
    if failure:
        print(f"\ndeploy-test FAILED: {failure}\nlogs: {OUT / 'logs'}; summary: {OUT / 'summary.json'}",
              file=sys.stderr)
        return 1
    print(f"\ndeploy-test passed; summary in {OUT / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
