from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from integrity.content import default_content, load_content
from integrity.errors import DataFileError
from integrity.profiles import PROFILES_DIR, available_profiles, get_profile, load_profile_file, main


def test_shipped_profiles_load_and_route_every_topic() -> None:
    assert available_profiles() == ["federale-politie", "vlaamse-overheid"]
    content = default_content()
    for profile_id in available_profiles():
        profile = get_profile(profile_id)
        for route in content.routes.values():
            if route.kind in ("psychosocial", "violation", "advice", "reporting", "emergency", "actor_info"):
                assert profile.routing[route.name], (profile_id, route.name)


def test_federal_police_has_its_own_actors_and_no_flemish_only_ones() -> None:
    police = get_profile("federale-politie")
    police_only = {"vertrouwenspersoon_integriteit", "spoc_integriteit", "cg_integrity", "comite_p", "tiwk"}
    assert police_only <= set(police.actors)
    assert "spreekbuis" not in police.actors
    assert "audit_vlaanderen" not in police.actors


def test_default_profile_comes_from_the_settings_not_the_profile_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    """INTEGRITY_PROFILE is read at the boundary (`DomainSettings`, the action server's `current_profile`);
    `get_profile` itself never looks at the environment."""
    from actions import answer, settings
    from tests.trackers import make_tracker as tracker

    monkeypatch.setenv("INTEGRITY_PROFILE", "federale-politie")
    get_profile.cache_clear()
    settings.domain_settings.cache_clear()
    try:
        assert get_profile().id == "vlaamse-overheid"
        assert answer.current_profile(tracker(text="hallo", intent="groeten")).id == "federale-politie"
        assert answer.current_profile(tracker(text="hallo", intent="groeten",
                                              metadata={"profile": "vlaamse-overheid"})).id == "vlaamse-overheid"
    finally:
        get_profile.cache_clear()
        settings.domain_settings.cache_clear()


def _write_variant(tmp_path: Path, change, name: str = "vlaamse-overheid") -> Path:
    data = yaml.safe_load((PROFILES_DIR / "vlaamse-overheid.yml").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_third_organisation_needs_only_a_yaml_file(tmp_path: Path) -> None:
    for source in PROFILES_DIR.glob("*.yml"):
        shutil.copy(source, tmp_path / source.name)

    def rename(data: dict) -> None:
        data["id"] = "stad-gent"
        data["name"] = "Stad Gent"
        data["actors"]["vertrouwenspersoon"]["contact"] = {"phone": "09 000 00 00"}

    _write_variant(tmp_path, rename, "stad-gent")
    assert "stad-gent" in available_profiles(tmp_path)
    profile = get_profile("stad-gent", tmp_path)
    assert profile.name == "Stad Gent"
    assert profile.actors["vertrouwenspersoon"].contact == {"phone": "09 000 00 00"}


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda d: d.pop("name"), "name", "is missing"),
        (lambda d: d.update(id="iets-anders"), "id", "must equal the file name"),
        (lambda d: d["routing"].update(pesten=["bestaat_niet"]), "routing.pesten", "unknown actor 'bestaat_niet'"),
        (lambda d: d["routing"].pop("geschenken"), "routing.geschenken", "is missing"),
        (lambda d: d["routing"].update(vakantie=["spreekbuis"]), "routing.vakantie", "not a known route"),
        (lambda d: d["actors"]["spreekbuis"]["contact"].update(fax="123"), "actors.spreekbuis.contact.fax",
         "unknown contact field"),
        (lambda d: d["actors"]["spreekbuis"].pop("role"), "actors.spreekbuis.role", "is missing"),
        (lambda d: d["actors"].update(koning={"name": "x"}), "actors.koning", "unknown actor id"),
        (lambda d: d.update(handoff=[]), "handoff", "non-empty list"),
        (lambda d: d["actors"]["spreekbuis"].update(verified="ja"), "actors.spreekbuis.verified", "true or false"),
        (lambda d: d.update(formal_routing={"geschenken": ["spreekbuis"]}), "formal_routing.geschenken",
         "only psychosocial routes"),
        (lambda d: d.update(messages={"onbekend": "tekst"}), "messages.onbekend", "does not exist"),
        (lambda d: d.update(answers={"pesten": ""}), "answers.pesten", "non-empty text"),
        (lambda d: d.update(answers={"pesten@onbekend": "x"}), "answers.pesten@onbekend", "does not exist"),
        (lambda d: d["situation_routing"].update({"pesten@onbekend": ["spreekbuis"]}),
         "situation_routing.pesten@onbekend", "ROUTE@FACT needs a known route"),
        (lambda d: d["situation_routing"].update({"psychosocial.later": ["spreekbuis"]}),
         "situation_routing.psychosocial.later", "ROUTE.STAGE or KIND.STAGE"),
        (lambda d: d["situation_routing"].update({"violation.extern": ["koning"]}),
         "situation_routing.violation.extern", "unknown actor 'koning'"),
        (lambda d: d["followup_routing"].update({"pesten": ["spreekbuis"]}), "followup_routing.pesten",
         "not a follow-up route"),
        (lambda d: d.update(followups={"vraag_anoniem": {"default": ""}}), "followups.vraag_anoniem.default",
         "non-empty text"),
        (lambda d: d.update(verdicts={"vakantie": "Nee."}), "verdicts.vakantie", "does not exist"),
    ],
)
def test_bad_profile_names_file_and_field(tmp_path: Path, change, field: str, problem: str) -> None:
    path = _write_variant(tmp_path, change)
    with pytest.raises(DataFileError) as caught:
        load_profile_file(path)
    assert caught.value.field == field
    assert problem in caught.value.problem
    assert str(path) in str(caught.value)


def test_invalid_yaml_and_missing_profile_are_reported(tmp_path: Path) -> None:
    broken = tmp_path / "kapot.yml"
    broken.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="not valid YAML"):
        load_profile_file(broken)
    with pytest.raises(DataFileError, match=r"no profile 'nergens' \(available: kapot\)"):
        get_profile("nergens", tmp_path)


def test_content_validation_names_missing_message(tmp_path: Path) -> None:
    for source in Path("integrity/content").glob("*.yml"):
        shutil.copy(source, tmp_path / source.name)
    answers = yaml.safe_load((tmp_path / "answers.yml").read_text(encoding="utf-8"))
    del answers["messages"]["clarify_procedure"]
    (tmp_path / "answers.yml").write_text(yaml.safe_dump(answers, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        load_content(tmp_path)
    assert caught.value.field == "messages.clarify_procedure"


def test_profile_check_lists_contacts_still_to_verify(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "vlaamse-overheid: 12 actors, OK; contact data to check:" in out
    assert main(["--strict"]) == 1


def test_content_validation_rejects_bad_safety_pattern(tmp_path: Path) -> None:
    for source in Path("integrity/content").glob("*.yml"):
        shutil.copy(source, tmp_path / source.name)
    (tmp_path / "safety.yml").write_text("noodsituatie:\n  - '(onaf'\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="invalid regular expression") as caught:
        load_content(tmp_path)
    assert caught.value.field == "noodsituatie[0]"
    (tmp_path / "safety.yml").write_text("pesten:\n  - 'x'\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="must be an emergency route"):
        load_content(tmp_path)
