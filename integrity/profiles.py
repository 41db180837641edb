"""Organisation profiles: actors, contact data and topic routing, one YAML file per organisation.

Adding an organisation means adding `integrity/profiles/<id>.yml`; nothing in Python changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from integrity.content import CONTACT_FIELDS, Content, default_content, followup_texts
from integrity.errors import DataFileError
from integrity.settings import DEFAULT_PROFILE
from integrity.situation import fact_names
from integrity.yamlfile import load_mapping, require

PROFILES_DIR = Path(__file__).parent / "profiles"
ACTOR_IDS = (
    "vertrouwenspersoon", "preventieadviseur_psychosociaal", "spreekbuis", "audit_vlaanderen",
    "vlaamse_ombudsdienst", "leidinggevende", "contactpersoon_integriteit", "coordinator_integriteitszorg",
    "personeelsdienst", "dienst_diversiteitsbeleid", "noodhulp_112", "zelfmoordlijn_1813",
    "vertrouwenspersoon_integriteit", "spoc_integriteit", "cg_integrity", "comite_p", "tiwk",
)
# Routes that need no actor list: the bot answers them without pointing anywhere.
ROUTES_WITHOUT_ACTORS = ("smalltalk", "out_of_scope", "choice", "handoff", "report_flow", "followup", "answer")


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    role: str
    when: str
    aliases: tuple[str, ...]
    contact: dict[str, str]
    verified: bool = True  # False: the organisation still has to check the contact data


@dataclass(frozen=True)
class Profile:
    id: str
    name: str
    description: str
    actors: dict[str, Actor]
    routing: dict[str, tuple[str, ...]]
    formal_routing: dict[str, tuple[str, ...]]
    handoff: tuple[str, ...]
    fallback: tuple[str, ...]
    answers: dict[str, str]
    messages: dict[str, str]
    # Who a report made in the chat really reaches, and the external channels the user contacts directly.
    report_recipients: tuple[str, ...] = ()
    external_channels: tuple[str, ...] = ()
    # The conversation layer (integrity/dialogue.py): actors per ROUTE@FACT, ROUTE.STAGE or KIND.STAGE; actors per
    # follow-up question; the organisation's own follow-up texts and "mag ik ...?" verdicts.
    situation_routing: dict[str, tuple[str, ...]] = field(default_factory=dict)
    followup_routing: dict[str, tuple[str, ...]] = field(default_factory=dict)
    followups: dict[str, dict[str, str]] = field(default_factory=dict)
    verdicts: dict[str, str] = field(default_factory=dict)


def _actor_list(value: Any, field: str, actors: dict[str, Actor], path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise DataFileError(str(path), field, "must be a non-empty list of actor ids")
    for actor_id in value:
        if not isinstance(actor_id, str):
            raise DataFileError(str(path), field, "must be a non-empty list of actor ids")
        if actor_id not in actors:
            raise DataFileError(str(path), field, f"unknown actor '{actor_id}' (not defined under actors)")
    return tuple(value)


def _load_actor(actor_id: str, spec: Any, path: Path) -> Actor:
    where = f"actors.{actor_id}"
    if actor_id not in ACTOR_IDS:
        raise DataFileError(str(path), where, f"unknown actor id; use one of {', '.join(ACTOR_IDS)}")
    if not isinstance(spec, dict):
        raise DataFileError(str(path), where, "must be a mapping with name, role, when, aliases, contact")
    aliases = require(spec, "aliases", list, path, where)
    if not all(isinstance(a, str) and a.strip() for a in aliases):
        raise DataFileError(str(path), f"{where}.aliases", "must be a list of non-empty texts")
    contact = require(spec, "contact", dict, path, where)
    for key, value in contact.items():
        if key not in CONTACT_FIELDS:
            raise DataFileError(str(path), f"{where}.contact.{key}",
                                f"unknown contact field; use one of {', '.join(CONTACT_FIELDS)}")
        if not isinstance(value, (str, int)) or not str(value).strip():
            raise DataFileError(str(path), f"{where}.contact.{key}", "must be a non-empty text")
    verified = spec.get("verified", True)
    if not isinstance(verified, bool):
        raise DataFileError(str(path), f"{where}.verified", "must be true or false")
    return Actor(
        id=actor_id,
        name=require(spec, "name", str, path, where).strip(),
        role=require(spec, "role", str, path, where).strip(),
        when=require(spec, "when", str, path, where).strip(),
        aliases=tuple(a.strip().lower() for a in aliases),
        contact={k: str(v).strip() for k, v in contact.items()},
        verified=verified,
    )


def _answer_overrides(data: dict[str, Any], content: Content, path: Path) -> dict[str, str]:
    """Answers the profile words itself: any route of content/answers.yml, or ROUTE@FACT for a known fact."""
    facts = set(fact_names())
    allowed = set(content.answers) | {f"{route}@{fact}" for route in content.routes for fact in facts}
    return _text_overrides(data, "answers", allowed, path)


def _text_overrides(data: dict[str, Any], key: str, allowed: set[str], path: Path) -> dict[str, str]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise DataFileError(str(path), key, "must be a mapping of text overrides")
    for name, text in value.items():
        if name not in allowed:
            raise DataFileError(str(path), f"{key}.{name}", "overrides a text that does not exist")
        if not isinstance(text, str) or not text.strip():
            raise DataFileError(str(path), f"{key}.{name}", "must be a non-empty text")
    return {name: text.strip() for name, text in value.items()}


def _situation_routing(data: dict[str, Any], actors: dict[str, Actor], content: Content,
                       path: Path) -> dict[str, tuple[str, ...]]:
    value = data.get("situation_routing") or {}
    if not isinstance(value, dict):
        raise DataFileError(str(path), "situation_routing", "must be a mapping of ROUTE@FACT / ROUTE.STAGE keys")
    facts = set(fact_names())
    result = {}
    for key, actor_list in value.items():
        where = f"situation_routing.{key}"
        base, at, fact = str(key).partition("@")
        if at:
            if base not in content.routes or fact not in facts:
                raise DataFileError(str(path), where, "ROUTE@FACT needs a known route and a fact from situations.yml")
        else:
            base, dot, stage = str(key).partition(".")
            kind = content.routes[base].kind if base in content.routes else base
            if not dot or stage not in content.stages.get(kind, ()):
                raise DataFileError(str(path), where, "must be ROUTE@FACT, ROUTE.STAGE or KIND.STAGE with a stage "
                                                      "from content/topics.yml")
        result[str(key)] = tuple(actor_list) if actor_list == [] else _actor_list(actor_list, where, actors, path)
    return result


def _followup_routing(data: dict[str, Any], actors: dict[str, Actor], content: Content,
                      path: Path) -> dict[str, tuple[str, ...]]:
    value = data.get("followup_routing") or {}
    if not isinstance(value, dict):
        raise DataFileError(str(path), "followup_routing", "must be a mapping of follow-up names to actor lists")
    result = {}
    for name, actor_list in value.items():
        base = str(name).partition(".")[0]
        if base not in content.routes or content.routes[base].kind != "followup":
            raise DataFileError(str(path), f"followup_routing.{name}", "is not a follow-up route (topics.yml)")
        result[str(name)] = _actor_list(actor_list, f"followup_routing.{name}", actors, path)
    return result


def _report_recipients(data: dict[str, Any], actors: dict[str, Actor], path: Path) -> tuple[str, ...]:
    """The actors that really receive a report made in the chat (the report form offers only these)."""
    recipients = _actor_list(data.get("report_recipients"), "report_recipients", actors, path)
    if len(set(recipients)) != len(recipients):
        raise DataFileError(str(path), "report_recipients", "lists an actor twice")
    return recipients


def _external_channels(data: dict[str, Any], actors: dict[str, Actor], path: Path) -> tuple[str, ...]:
    """External reporting channels (ombudsman, Comité P): never a chat report's recipient, contacted directly."""
    value = data.get("external_channels")
    if value is None or value == []:
        return ()
    channels = _actor_list(value, "external_channels", actors, path)
    recipients = data.get("report_recipients")
    recipients = recipients if isinstance(recipients, list) else []
    for actor_id in channels:
        if actor_id in recipients:
            raise DataFileError(str(path), "external_channels",
                                f"'{actor_id}' is also in report_recipients; a chat report never reaches it")
    if len(set(channels)) != len(channels):
        raise DataFileError(str(path), "external_channels", "lists an actor twice")
    return channels


def load_profile_file(path: Path, content: Content | None = None) -> Profile:
    content = content or default_content()
    data = load_mapping(path)
    profile_id = require(data, "id", str, path)
    if profile_id != path.stem:
        raise DataFileError(str(path), "id", f"'{profile_id}' must equal the file name '{path.stem}'")
    actors = {aid: _load_actor(aid, spec, path) for aid, spec in require(data, "actors", dict, path).items()}
    routing_data = require(data, "routing", dict, path)
    routing: dict[str, tuple[str, ...]] = {}
    for route in content.routes.values():
        if route.kind in ROUTES_WITHOUT_ACTORS:
            continue
        if route.name not in routing_data:
            raise DataFileError(str(path), f"routing.{route.name}", "is missing")
    for name, value in routing_data.items():
        if name not in content.routes:
            raise DataFileError(str(path), f"routing.{name}", "is not a known route (see content/topics.yml)")
        routing[name] = _actor_list(value, f"routing.{name}", actors, path)
    formal: dict[str, tuple[str, ...]] = {}
    formal_data = data.get("formal_routing") or {}
    if not isinstance(formal_data, dict):
        raise DataFileError(str(path), "formal_routing", "must be a mapping of route names to actor lists")
    for name, value in formal_data.items():
        if name not in content.routes or content.routes[name].kind != "psychosocial":
            raise DataFileError(str(path), f"formal_routing.{name}", "only psychosocial routes have a formal route")
        formal[name] = _actor_list(value, f"formal_routing.{name}", actors, path)
    return Profile(
        id=profile_id,
        name=require(data, "name", str, path).strip(),
        description=str(data.get("description") or "").strip(),
        actors=actors,
        routing=routing,
        formal_routing=formal,
        handoff=_actor_list(data.get("handoff"), "handoff", actors, path),
        fallback=_actor_list(data.get("fallback"), "fallback", actors, path),
        answers=_answer_overrides(data, content, path),
        messages=_text_overrides(data, "messages", set(content.messages), path),
        report_recipients=_report_recipients(data, actors, path),
        external_channels=_external_channels(data, actors, path),
        situation_routing=_situation_routing(data, actors, content, path),
        followup_routing=_followup_routing(data, actors, content, path),
        followups=followup_texts(data.get("followups") or {}, content, path),
        verdicts=_text_overrides(data, "verdicts", set(content.routes), path),
    )


def available_profiles(directory: Path = PROFILES_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yml"))


@cache
def get_profile(profile_id: str | None = None, directory: Path = PROFILES_DIR) -> Profile:
    """Load (once) the named profile, or DEFAULT_PROFILE. The configured default (`DomainSettings.profile`,
    INTEGRITY_PROFILE) is the caller's to pass."""
    profile_id = profile_id or DEFAULT_PROFILE
    path = directory / f"{profile_id}.yml"
    if not path.is_file():
        known = ", ".join(available_profiles(directory)) or "none"
        raise DataFileError(str(path), "<file>", f"no profile '{profile_id}' (available: {known})")
    return load_profile_file(path)


def main(argv: list[str] | None = None) -> int:
    """`python -m integrity.profiles [--strict]`: validate every profile, list contacts still to be checked."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--strict", action="store_true", help="fail when contact data is still unverified")
    args = parser.parse_args(argv)
    unverified = 0
    for profile_id in available_profiles():
        try:
            profile = get_profile(profile_id)
        except DataFileError as exc:
            print(f"ERROR {exc}")
            return 1
        todo = [a.id for a in profile.actors.values() if not a.verified]
        unverified += len(todo)
        print(f"{profile_id}: {len(profile.actors)} actors, OK" + (f"; contact data to check: {', '.join(todo)}"
                                                                  if todo else ""))
    return 1 if args.strict and unverified else 0


if __name__ == "__main__":
    raise SystemExit(main())
