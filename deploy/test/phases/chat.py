"""Phases: the web chat (a topic question, the informal/formal choice, a report read in the back office and
followed up with its receipt code) and Telegram in webhook mode through nginx."""

from __future__ import annotations

import json
import secrets
from typing import Any

from stack import PUBLIC_HOST, check, container, podman
from web import BackOffice, WebChat, client, confirmed, fill_in_report, follow_up


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



def test_telegram(results: dict[str, Any]) -> None:
    result = podman("exec", container("fake-telegram"), "python", "/fake/fake_telegram.py", "send",
                    "Mag ik een geschenk van een leverancier aannemen?", timeout=120)
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    texts = [reply.get("text", "") for reply in answer["replies"]]
    check(texts and any(texts), f"the bot did not answer on Telegram: {answer}")
    check(answer["webhook"].startswith(f"https://{PUBLIC_HOST}:"), f"webhook not registered through nginx: {answer}")
    results["telegram"] = {"webhook": answer["webhook"], "reply": texts[0][:300]}

