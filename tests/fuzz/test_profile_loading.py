"""Fuzz organisation profile loading (`integrity.profiles.load_profile_file`) with mutated YAML documents.

Each document is a shipped profile with one to four random mutations: a field removed, replaced by a value of
another type (huge strings, unicode, nested lists and mappings, null), a key added or renamed, a bad id; some
documents are also damaged as text (invalid YAML, invalid UTF-8, tags, aliases). Property: loading gives a valid
profile or raises `DataFileError` whose message names the file and the field; never another exception.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, note
from hypothesis import strategies as st

from integrity.errors import DataFileError
from integrity.profiles import ACTOR_IDS, PROFILES_DIR, Profile, available_profiles, load_profile_file
from tests.fuzz.profile import fuzz_settings
from tests.fuzz.strategies import huge_text, one_in, unicode_text

SHIPPED = {name: yaml.safe_load((PROFILES_DIR / f"{name}.yml").read_text(encoding="utf-8"))
           for name in available_profiles()}
BAD_IDS = ["", " ", "Vlaamse Overheid", "../etc", "a" * 300, "vlaamse-overheid\x00", "é", "1", "-", "con"]
TEXT_DAMAGE = [b"\xff", b"\xc3", b"\x00", b"\t", b":", b": :", b"[", b"{", b"]", b"- ", b"&a ", b"*a", b"*unknown",
               b"!!python/object/apply:os.system ['true'] ", b"%YAML 9.9\n", b"---\n", b"...\n", b"? ", b"!!binary ",
               b"'", b'"', b"\n  bad-indent: 1\n", b"<<: *a\n", b"!!set {a, b}", b"\xef\xbb\xbf", b"\r",
               b"[" * 600, b"{a: " * 600]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), unicode_text, huge_text,
                    st.sampled_from([*ACTOR_IDS, *BAD_IDS, "true", "null", "~"]))
yaml_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.one_of(st.text(max_size=12), st.integers(), st.booleans()),
                                               children, max_size=4)),
    max_leaves=10,
)
keys = st.one_of(st.sampled_from([*ACTOR_IDS, "id", "name", "actors", "routing", "formal_routing", "handoff",
                                  "fallback", "answers", "messages", "contact", "aliases", "verified", "phone"]),
                 st.text(max_size=12), st.integers(), st.booleans())


def _slots(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, container) pair: the places a mutation can happen."""
    yield path, node
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        if isinstance(child, (dict, list)):
            yield from _slots(child, (*path, key))


@st.composite
def mutated_documents(draw: st.DrawFn) -> tuple[dict[str, Any] | Any, str]:
    data: Any = copy.deepcopy(SHIPPED[draw(st.sampled_from(sorted(SHIPPED)))])
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not isinstance(data, dict) or draw(one_in(30)):
            data = draw(yaml_values)  # the whole document replaced
            continue
        slots = list(itertools.islice(_slots(data), 400))
        path, container = draw(st.sampled_from(slots))
        note(f"mutating at {path}")
        operation = draw(st.sampled_from(["delete", "replace", "replace", "add", "rename", "id"]))
        if operation == "id":
            data["id"] = draw(st.one_of(st.sampled_from(BAD_IDS), unicode_text, yaml_values))
        elif isinstance(container, dict):
            if operation == "add" or not container:
                container[draw(keys)] = draw(yaml_values)
                continue
            key = draw(st.sampled_from(list(container)))
            if operation == "delete":
                del container[key]
            elif operation == "replace":
                container[key] = draw(yaml_values)
            else:
                container[draw(keys)] = container.pop(key)
        elif isinstance(container, list):
            if operation == "add" or not container:
                container.append(draw(yaml_values))
                continue
            index = draw(st.integers(min_value=0, max_value=len(container) - 1))
            if operation == "delete":
                del container[index]
            else:
                container[index] = draw(yaml_values)
    identifier = data.get("id") if isinstance(data, dict) else None
    stem = identifier if isinstance(identifier, str) and identifier.strip() and "/" not in identifier \
        and "\x00" not in identifier and len(identifier.encode("utf-8")) < 200 and identifier not in (".", "..") \
        else draw(st.sampled_from(["vlaamse-overheid", "profiel", "é-profiel"]))
    return data, stem


@st.composite
def damaged_text(draw: st.DrawFn, text: bytes) -> bytes:
    if draw(one_in(4)):  # nested deeper than the YAML parser's recursion allows
        depth = draw(st.sampled_from([5000, 600]))
        return b"id: " + draw(st.sampled_from([b"[", b"{a: ", b"- "])) * depth
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:at] + draw(st.sampled_from(TEXT_DAMAGE)) + text[at:]
    return text


@pytest.fixture(scope="module")
def profile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("profiles")


def test_fuzz_profile_loading(profile_dir: Path) -> None:
    @fuzz_settings(200)
    @given(document=mutated_documents(), data=st.data())
    def run(document: tuple[Any, str], data: st.DataObject) -> None:
        content, stem = document
        text = yaml.safe_dump(content, allow_unicode=data.draw(st.booleans(), label="unicode"), sort_keys=False)
        raw = data.draw(damaged_text(text.encode("utf-8")), label="raw") \
            if data.draw(one_in(4), label="damage") else text.encode("utf-8")
        path = profile_dir / f"{stem}.yml"
        path.write_bytes(raw)
        try:
            profile = load_profile_file(path)
        except DataFileError as exc:
            assert str(path) in str(exc), exc
            assert exc.field and f"field '{exc.field}'" in str(exc), exc
            assert exc.problem.strip(), exc
            return
        finally:
            path.unlink()
        assert isinstance(profile, Profile)
        assert profile.id == stem and profile.name and profile.actors
        assert all(isinstance(actors, tuple) and actors for actors in profile.routing.values())
        assert profile.handoff and profile.fallback

    run()


def test_unmutated_profiles_still_load(profile_dir: Path) -> None:
    """The mutation baseline: the shipped documents, dumped again, load (else every mutation would 'fail')."""
    for name, content in SHIPPED.items():
        path = profile_dir / f"{name}.yml"
        path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")
        assert load_profile_file(path).id == name
        path.unlink()
