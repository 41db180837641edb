"""Loading the safety-net patterns (integrity/content/safety.yml) and matching them (`Content.safety_route`).

The loader runs once per process for the real content, so these tests call it on files of their own: every
refusal names the file, the field and the problem exactly, and a valid file keeps every pattern in its order.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from integrity.content import CONTENT_DIR, Content, Route, _load_safety, default_content, load_content
from integrity.errors import DataFileError

ROUTES = {
    "nood": Route("nood", "noodsituatie", "emergency", "Nood"),
    "ander": Route("ander", "noodsituatie", "emergency", "Ander"),
    "pesten": Route("pesten", "pesten", "psychosocial", "Pesten"),
}


def _file(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "safety.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_every_pattern_is_compiled_in_file_order(tmp_path: Path) -> None:
    path = _file(tmp_path, {"nood": ["a+b", r"\bc\b"], "ander": ["d"]})
    safety = _load_safety(path, ROUTES)
    assert list(safety) == ["nood", "ander"]
    assert [p.pattern for p in safety["nood"]] == ["a+b", r"\bc\b"]
    assert isinstance(safety["nood"], tuple) and all(isinstance(p, re.Pattern) for p in safety["nood"])
    real = yaml.safe_load((CONTENT_DIR / "safety.yml").read_text(encoding="utf-8"))
    loaded = default_content().safety
    assert {route: [p.pattern for p in patterns] for route, patterns in loaded.items()} == real


@pytest.mark.parametrize(("data", "field", "problem"), [
    ({"onbekend": ["x"]}, "onbekend", "must be an emergency route from topics.yml"),
    ({"pesten": ["x"]}, "pesten", "must be an emergency route from topics.yml"),
    ({"nood": []}, "nood", "must be a non-empty list of regular expressions"),
    ({"nood": "x"}, "nood", "must be a non-empty list of regular expressions"),
    ({"nood": ["ok", "(open"]}, "nood[1]", "invalid regular expression (missing ), unterminated subpattern at "
                                          "position 0)"),
])
def test_a_bad_file_is_refused_with_the_field_and_problem(tmp_path: Path, data: object, field: str,
                                                          problem: str) -> None:
    path = _file(tmp_path, data)
    with pytest.raises(DataFileError) as refused:
        _load_safety(path, ROUTES)
    assert (refused.value.path, refused.value.field, refused.value.problem) == (str(path), field, problem)
    assert str(refused.value) == f"{path}: field '{field}': {problem}"


def test_load_content_uses_the_directory_s_own_safety_file(tmp_path: Path) -> None:
    for source in CONTENT_DIR.glob("*.yml"):
        (tmp_path / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    route = next(iter(default_content().safety))
    (tmp_path / "safety.yml").write_text(yaml.safe_dump({route: ["^alleen dit$"]}), encoding="utf-8")
    content = load_content(tmp_path)
    assert [p.pattern for p in content.safety[route]] == ["^alleen dit$"]
    assert content.safety_route("alleen dit") == content.routes[route]
    assert content.safety_route("ik denk aan zelfmoord") is None


def test_safety_route_searches_anywhere_and_takes_the_first_route_that_matches() -> None:
    safety = {"nood": (re.compile("gevaar"),), "ander": (re.compile("x"), re.compile("gevaar|hulp"))}
    content = Content(ROUTES, {}, {}, {}, {}, safety)
    assert content.safety_route("ik ben in gevaar nu") is ROUTES["nood"]
    assert content.safety_route("help, hulp") is ROUTES["ander"]
    assert content.safety_route("een x") is ROUTES["ander"]
    assert content.safety_route("niets aan de hand") is None
    assert Content(ROUTES, {}, {}, {}, {}).safety_route("gevaar") is None
