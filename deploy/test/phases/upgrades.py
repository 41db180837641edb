"""Phases: upgrades without downtime, as docs/deployment.md describes them, on the running test stack.

1. A new model rolled out over the two Rasa replicas one at a time while a report form goes on in the web chat
   and another person chats the whole time: no message may fail, the form continues at the right question, and
   the tracker in Redis shows turns of the old and of the new model in one conversation.
2. A database migration of the expand kind (deploy/test/upgrade/expand_migration.py) applied with the real
   `prepare` job (alembic upgrade head) of the next release while the web chat, the back office and the action
   servers of the running release keep serving; then the action servers are rolled to the new release.

The next release is the image tag `upgrade`: a model trained here with one more example sentence, and the app
image with one more Alembic revision (deploy/test/upgrade/*.Containerfile).
"""

from __future__ import annotations

import json
import secrets
import statistics
import threading
import time
from typing import Any

import httpx
from stack import ENV, OUT, PROJECT, REPO, UPGRADE_TAG, check, compose, container, log, podman, run
from web import REPORT_ANSWERS, BackOffice, WebChat, client, confirmed, follow_up, joined

UPGRADE = OUT / "upgrade"
FILES = REPO / "deploy" / "test" / "upgrade"
MODEL = REPO / "models" / "integrity.tar.gz"
NEW_MODEL = UPGRADE / "integrity.tar.gz"
CHATTER = ["Mag ik een geschenk van een leverancier aannemen?", "en als het een fles wijn is",
           "Een collega pest mij", "/kies_informeel", "bedankt"]


# --- the next release -----------------------------------------------------------------------------------------


def build_next_release(results: dict[str, Any]) -> None:
    """Train the new model (skipped when one newer than the current model is there) and build the `upgrade` tag
    of the Rasa and app images on top of the running ones (seconds: only the model layer / one file change)."""
    UPGRADE.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if not NEW_MODEL.is_file() or NEW_MODEL.stat().st_mtime < MODEL.stat().st_mtime:
        run(str(REPO / ".venv-rasa" / "bin" / "rasa"), "train", "--data", "nlu", "stories",
            str(FILES / "nlu-extra.yml"), "--domain", "domain.yml", "--config", "config.yml", "--out", str(UPGRADE),
            "--fixed-model-name", "integrity", "--quiet", timeout=1200, quiet=True)
        results["train_s"] = round(time.monotonic() - started, 1)
    else:
        results["train_s"] = "reused"
    started = time.monotonic()
    for image, containerfile, context in (("rasa", FILES / "rasa.Containerfile", UPGRADE),
                                          ("app", FILES / "app.Containerfile", FILES)):
        podman("build", "--quiet", "--layers", "--format", "docker", "-t",
               f"localhost/integrity-{image}:{UPGRADE_TAG}", "-f", str(containerfile), "--build-arg",
               f"FROM_IMAGE=localhost/integrity-{image}:latest", str(context), timeout=600)
    results["build_s"] = round(time.monotonic() - started, 1)
    results["old_model_id"] = model_id("localhost/integrity-rasa:latest")
    results["new_model_id"] = model_id(f"localhost/integrity-rasa:{UPGRADE_TAG}")
    check(results["old_model_id"] != results["new_model_id"], f"the new model has the old model's id: {results}")


def model_id(image: str) -> str:
    """The model id in the metadata of the model baked into `image`."""
    script = ("import json, tarfile; t = tarfile.open('models/integrity.tar.gz'); "
              "m = next(n for n in t.getnames() if n.lstrip('./') == 'metadata.json'); "
              "print(json.load(t.extractfile(m))['model_id'])")
    return podman("run", "--rm", "--network", "none", "--entrypoint", "python", image, "-c", script,
                  timeout=120).stdout.strip()


def image_of(name: str) -> str:
    return podman("inspect", "--format", "{{.ImageName}}", name).stdout.strip()


def replace_replica(service: str, index: int, tag: str) -> dict[str, Any]:
    """One replica to the release `tag` with deploy/replace-replica.sh, the procedure of docs/deployment.md: drain
    it at the proxy, stop and remove it, let podman-compose create it from the new tag, join it when healthy."""
    name = container(service, index)
    started = time.monotonic()
    out = run(str(REPO / "deploy" / "replace-replica.sh"), "-p", PROJECT, service, str(index),
              env={**ENV, "TAG": tag}, timeout=600, quiet=True).stdout
    image = image_of(name)
    check(image.endswith(f":{tag}"), f"{name} runs {image}, not the tag {tag}")
    return {"seconds": round(time.monotonic() - started, 1), "steps": out.strip().splitlines()}


# --- people chatting during the upgrade ---------------------------------------------------------------------------


class Chatter(threading.Thread):
    """People chatting the whole time, one after the other: each sends the five CHATTER messages, one a second (the
    web app allows 20 a minute per chat session), then the next person opens the chat. Every answer is recorded;
    nothing is resent."""

    def __init__(self, name: str) -> None:
        super().__init__(daemon=True, name=name)
        self.stop = threading.Event()
        self.times: list[float] = []
        self.failures: list[str] = []

    def run(self) -> None:
        with client() as http:
            chat, turn = WebChat(http), 0
            while not self.stop.is_set():
                if turn == len(CHATTER):
                    chat, turn = WebChat(http), 0
                text = CHATTER[turn]
                turn += 1
                started = time.monotonic()
                try:
                    status, body = chat.send(text)
                except httpx.HTTPError as exc:
                    status, body = 0, {"error": f"{type(exc).__name__}: {exc}"}
                seconds = time.monotonic() - started
                if status == 200 and joined(body.get("messages", [])).strip():
                    self.times.append(seconds)
                else:
                    self.failures.append(f"{time.strftime('%H:%M:%S')} {text!r}: HTTP {status} after "
                                         f"{seconds:.1f} s {str(body)[:160]}")
                self.stop.wait(1.0)

    def finish(self) -> dict[str, Any]:
        self.stop.set()
        self.join(120)
        times = sorted(self.times)
        return {"messages": len(times) + len(self.failures), "failed": self.failures,
                "p50_ms": round(1000 * statistics.median(times)) if times else None,
                "max_ms": round(1000 * times[-1]) if times else None}


def say_once(chat: WebChat, text: str, turns: list[dict[str, Any]], when: str) -> str:
    """Send once (no resend: during an upgrade every message must be answered the first time)."""
    started = time.monotonic()
    status, body = chat.send(text)
    seconds = round(time.monotonic() - started, 2)
    turns.append({"when": when, "status": status, "seconds": seconds})
    check(status == 200, f"the web chat answered {status} to {text!r} {when}: {body}")
    return joined(body["messages"])


def tracker_key(marker: str) -> str:
    """The Redis key (db 0) of the conversation whose report text holds `marker`."""
    script = ('pw="$(cat /run/secrets/redis_password)"; for k in $(redis-cli --no-auth-warning -a "$pw" -n 0 '
              f'--scan); do redis-cli --no-auth-warning -a "$pw" -n 0 GET "$k" | grep -q {marker} && echo "$k"; '
              'done; true')
    keys = podman("exec", container("redis"), "sh", "-c", script).stdout.split()
    check(len(keys) == 1, f"conversations in Redis holding {marker}: {keys}")
    return keys[0]


def model_ids_of_turns(key: str) -> list[str]:
    """For each user message of the conversation in Redis, in order: the id of the model that handled it."""
    stored = podman("exec", container("redis"), "sh", "-c", 'redis-cli --no-auth-warning -a '
                    f'"$(cat /run/secrets/redis_password)" -n 0 GET "{key}"').stdout
    events = json.loads(stored)["events"]
    return [event.get("metadata", {}).get("model_id", "?") for event in events if event.get("event") == "user"]


# --- the phases ---------------------------------------------------------------------------------------------------


def test_model_rollout(results: dict[str, Any], office: BackOffice) -> tuple[str, str]:
    """The new model over rasa 1, then rasa 2, while a report form goes on (answers given before, during and
    after each replacement) and the chatter sends a message every second."""
    upgrade = results["upgrade"]
    old, new = upgrade["old_model_id"], upgrade["new_model_id"]
    turns: list[dict[str, Any]] = []
    replaced: dict[str, Any] = {}
    chatter = Chatter("chatter during the model rollout")
    chatter.start()
    started = time.monotonic()
    try:
        with client() as http:
            chat = WebChat(http)
            marker = "DEPLOY-ROLLOUT-" + secrets.token_hex(3).upper()
            check("Waarover gaat je melding" in say_once(chat, "/melding_starten", turns, "before"), "no report form")
            say_once(chat, REPORT_ANSWERS[0], turns, "before")
            check("Wanneer" in say_once(chat, REPORT_ANSWERS[1].format(marker=marker), turns, "before"), "no 'when'")
            key = tracker_key(marker)
            # Which answers are given while a replica is replaced (answered by the other one) and after it is back.
            plan = {1: (REPORT_ANSWERS[2:4], REPORT_ANSWERS[4:5]), 2: (REPORT_ANSWERS[5:7], REPORT_ANSWERS[7:])}
            reply = ""
            for index, (while_replaced, afterwards) in plan.items():
                log(f"rolling the new model out to rasa {index}")
                roller = threading.Thread(target=lambda i=index: replaced.setdefault(
                    container("rasa", i), replace_replica("rasa", i, UPGRADE_TAG)))
                roller.start()
                for answer in while_replaced:
                    roller.join(10)
                    reply = say_once(chat, answer, turns, f"while rasa {index} is replaced"
                                     + ("" if roller.is_alive() else " (already healthy)"))
                    check("Waarover gaat je melding" not in reply, f"the form started again: {reply[:300]}")
                roller.join(450)
                check(container("rasa", index) in replaced, f"rasa {index} was not replaced (see the log above)")
                for answer in afterwards:
                    reply = say_once(chat, answer, turns, f"after rasa {index} was replaced")
            check("Klopt alles" in reply, f"the form did not reach its summary: {reply[:300]}")
            for given in (marker, "sinds januari", "afdeling aankoop"):
                check(given in reply, f"the summary lost {given!r} during the rollout: {reply[:400]}")
            models = model_ids_of_turns(key)
            done = say_once(chat, "Verzenden", turns, "after")
            got = confirmed(done)
            check(got, f"the report was not confirmed after the rollout: {done[:300]}")
            assert got
    finally:
        chat_stats = chatter.finish()
    check(not chat_stats["failed"], f"messages failed during the model rollout: {chat_stats['failed']}")
    check(models[0] == old and models[-1] == new and set(models) == {old, new},
          f"the conversation's turns were not handled by the old and then the new model: {models}")
    for index in (1, 2):
        check(image_of(container("rasa", index)).endswith(f":{UPGRADE_TAG}"), f"rasa {index} is not upgraded")
    code, reference = got
    check(office.reports_with(marker) == [reference], f"the report of the rollout is not stored once: {marker}")
    check(follow_up(code) == reference, "the rollout's receipt code does not open its report")
    upgrade["model_rollout"] = {
        "seconds": round(time.monotonic() - started, 1), "replicas": replaced, "report_form_turns": turns,
        "turns_by_model": {"old": models.count(old), "new": models.count(new)}, "chatter": chat_stats,
        "reference": reference}
    return code, reference


def psql(sql: str) -> str:
    return podman("exec", container("postgres"), "sh", "-c", 'PGPASSWORD="$(cat /run/secrets/postgres_password)" '
                  f'psql -h 127.0.0.1 -U integrity -d integrity -At -c "{sql}"').stdout.strip()


class BackOfficeReader(threading.Thread):
    """A coordinator reading the case list every second during the migration."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="back office during the migration")
        self.stop = threading.Event()
        self.times: list[float] = []
        self.failures: list[str] = []

    def run(self) -> None:
        office = BackOffice()
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                office.references()
                self.times.append(time.monotonic() - started)
            except Exception as exc:  # every failure is recorded and fails the phase
                self.failures.append(f"{time.strftime('%H:%M:%S')} case list: {type(exc).__name__}: {exc}")
            self.stop.wait(1.0)

    def finish(self) -> dict[str, Any]:
        self.stop.set()
        self.join(120)
        return {"requests": len(self.times) + len(self.failures), "failed": self.failures,
                "max_ms": round(1000 * max(self.times)) if self.times else None}


def test_migration_while_serving(results: dict[str, Any], office: BackOffice) -> tuple[str, str]:
    """The next release's `prepare` (alembic upgrade head, the expand revision) while the running release serves
    the web chat, the back office and report submissions; then the action servers rolled to the new release."""
    upgrade = results["upgrade"]
    before = psql("SELECT version_num FROM alembic_version")
    chatter, reader = Chatter("chatter during the migration"), BackOfficeReader()
    chatter.start()
    reader.start()
    try:
        time.sleep(3)
        started = time.monotonic()
        output = compose("run", "--rm", "-T", "--no-deps", "prepare", tag=UPGRADE_TAG, timeout=300)
        migrate_s = round(time.monotonic() - started, 1)
        after = psql("SELECT version_num FROM alembic_version")
        column = psql("SELECT data_type FROM information_schema.columns WHERE table_name = 'reports' "
                      "AND column_name = 'deploy_test_expand'")
        index_valid = psql("SELECT indisvalid FROM pg_index "
                           "WHERE indexrelid = 'ix_reports_deploy_test_expand'::regclass")
        check(after == "deploy_test_expand" and column == "text" and index_valid == "t",
              f"the expand migration is not in the database: version {after!r}, column {column!r}, "
              f"index {index_valid!r}\n{output.stdout[-500:]}")
        # The running release (old code) on the expanded schema: a report stored, read and followed up.
        with client() as http:
            chat = WebChat(http)
            marker = "DEPLOY-MIGRATED-" + secrets.token_hex(3).upper()
            turns: list[dict[str, Any]] = []
            say_once(chat, "/melding_starten", turns, "after the migration")
            for answer in REPORT_ANSWERS:
                say_once(chat, answer.format(marker=marker), turns, "after the migration")
            got = confirmed(say_once(chat, "Verzenden", turns, "after the migration"))
            check(got, "no receipt code for a report sent by the old release on the migrated schema")
            assert got
        rolled = {}
        for index in (1, 2):
            log(f"rolling action server {index} to the new release")
            rolled[container("actions", index)] = replace_replica("actions", index, UPGRADE_TAG)
    finally:
        chat_stats, reader_stats = chatter.finish(), reader.finish()
    check(not chat_stats["failed"], f"chat messages failed during the migration: {chat_stats['failed']}")
    check(not reader_stats["failed"], f"back office requests failed during the migration: {reader_stats['failed']}")
    code, reference = got
    check(office.reports_with(marker) == [reference],
          f"the report sent after the migration is not stored once: {marker}")
    check(follow_up(code) == reference, "the receipt code of the report sent after the migration does not open it")
    upgrade["migration"] = {"revision_before": before, "revision_after": after, "prepare_run_s": migrate_s,
                            "column": column, "index_valid": index_valid == "t", "report_after": reference,
                            "report_turns": turns, "actions_rolled": rolled, "chatter": chat_stats,
                            "back_office": reader_stats}
    return code, reference


def prepare_next_release(results: dict[str, Any]) -> None:
    results["upgrade"] = {}
    build_next_release(results["upgrade"])
    log(f"    new model {results['upgrade']['new_model_id']} (old {results['upgrade']['old_model_id']}), "
        f"trained in {results['upgrade']['train_s']} s, images built in {results['upgrade']['build_s']} s")

