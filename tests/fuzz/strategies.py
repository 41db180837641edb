"""Hypothesis strategies for hostile HTTP input: values, path segments, query strings, form bodies, chat JSON.

`values(pool)` mixes real values of the seeded world (references, ids, codes, usernames, the known password: they
get the fuzzing past the first checks) with random text: unicode, control characters, huge strings, markup,
percent signs. Bodies are built as raw bytes so that they can contain what a browser never sends: invalid
percent-escapes, invalid UTF-8, duplicated fields, too many fields, wrong content types.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

from hypothesis import strategies as st

from tests.fuzz.discovery import Form

# Bigger than every limit of the app: form body 128 KiB, chat body 64 KiB, chat text 4000, message 5000 characters.
HUGE_SIZES = (300, 4001, 5001, 70_000, 140_000)
MAX_URL_PART = 30_000  # httpx refuses URLs over 64 KiB (and servers refuse long before)
RAW_GARBAGE = ("%", "%Z", "%ZZ", "%FF", "%C3%28", "%ED%A0%80", "%F4%90%80%80", "%00", "%E2%80%AE", "\xff", "\xc3",
               "%%41", "&&", "=", "==", "&=&", ";", "+", "%2B", "%0D%0A", "%EF%BB%BF")
TRICKY = ("", " ", "\x00", "\r\n", "\t", "../../../../etc/passwd", "..%2f..%2fetc%2fpasswd",
          "<script>alert(1)</script>", "{{7*7}}", "${7*7}", "' OR '1'='1", "\u202e", "\ufeff", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "🙂" * 3,
          "0", "-1", "99999999999999999999",
          "1e309", "NaN", "null", "true", "[]", "{}", "/beheer", "//evil.example", "https://evil.example/",
          "/beheer/../opvolgen", "c1.0.x.y", "r1.1.2.3", "a" * 64, "é", "ÿ", "\u0085", "\u2028")
# Numbers a route may parse: digits that str.isdigit() accepts but int() refuses (superscripts, circled), past
# 64 bits (SQLite integers), digits int() does accept but a regex [0-9] does not (Arabic-Indic, fullwidth).
NUMBERS = ("²", "9223372036854775808", "³", "①", "99999999999999999999", "¹⁰", "-" + "9" * 19, "١٢", "０", "0",
           "-1", "1.5", "9223372036854775807", "1_000", "0x10", "1e3", " 7 ")

# The sweep (tests/fuzz/test_sweep.py) sends each of these to every parameter once.
SWEEP_VALUES = (*NUMBERS, "", "\x00", "\x1b[31m", "\r\n", "é", "🙂", "a" * 5000, "../../../../etc/passwd",
                "<script>alert(1)</script>", "{{7*7}}", "//evil.example", "null", "[]")
control_text = st.text(st.characters(codec="utf-8", categories=["Cc", "Zs", "Zl", "Zp", "Cf", "Lu", "Nd"]),
                       max_size=30)
unicode_text = st.text(st.characters(codec="utf-8"), max_size=60)
huge_text = st.builds(lambda ch, size: ch * size, st.sampled_from(["a", "é", "\x01", "🙂", "%", " ", "\n"]),
                      st.sampled_from(HUGE_SIZES))


def one_in(n: int) -> st.SearchStrategy[bool]:
    """True about once in `n` draws (Hypothesis favours small integers, so `integers(0, n) == 0` is not rare)."""
    return st.sampled_from([False] * (n - 1) + [True])


def values(pool: Sequence[str]) -> st.SearchStrategy[str]:
    choices = [st.text(max_size=20), unicode_text, control_text, st.sampled_from(TRICKY), st.sampled_from(NUMBERS),
               huge_text]
    if pool:
        choices.insert(0, st.sampled_from(sorted(pool)))
    return st.one_of(*choices)


field_names = st.one_of(st.sampled_from(["csrf", "code", "bericht", "toegang", "volgende", "gebruiker",
                                         "wachtwoord", "status", "reden", "tekst", "id", "x"]),
                        st.text(st.characters(codec="utf-8"), max_size=12))


def encode(value: str, *, plus: bool = True) -> str:
    return quote_plus(value, safe="") if plus else quote(value, safe="")


@st.composite
def path_segments(draw: st.DrawFn, ids: Sequence[str], pool: Sequence[str]) -> str:
    """One encoded path segment: often a real id, else any value, digits, raw garbage or traversal."""
    kind = draw(st.sampled_from(["id"] * 4 + ["value", "value", "digits", "digits", "garbage", "raw"]))
    if kind == "id" and ids:
        return encode(draw(st.sampled_from(sorted(ids))), plus=False)
    if kind == "digits":
        return encode(draw(st.one_of(st.sampled_from(NUMBERS), st.integers(min_value=-(2**70), max_value=2**70)
                                     .map(str))), plus=False)
    if kind == "garbage":
        return draw(st.sampled_from(RAW_GARBAGE[:11])).replace("\xff", "%FF").replace("\xc3", "%C3") + "x"
    if kind == "raw":
        return draw(st.sampled_from(["..", ".", "%2e%2e", "%2F", "a%2Fb", "..%2F..%2Fetc%2Fpasswd", "%00", "~",
                                     "%20", "%E2%80%AE"]))
    value = draw(values(pool))
    return encode(value, plus=False)[:MAX_URL_PART] or "x"


@st.composite
def query_strings(draw: st.DrawFn, known: dict[str, list[str]], pool: Sequence[str]) -> str:
    """A query string (without '?'): each parameter the route reads, or not (the values pages use, numbers it may
    not expect, anything), plus random parameters and raw garbage, in any order."""
    parts = []
    for name in sorted(known):
        if draw(st.booleans()):
            seen = known[name]
            kind = draw(st.sampled_from(["number", "seen", "any"]))  # explicit: one_of flattens nested branches
            value = draw(st.sampled_from(NUMBERS) if kind == "number" else st.sampled_from(seen)
                         if kind == "seen" and seen else values(pool))
            parts.append(f"{encode(name)}={encode(value)}")
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        if draw(one_in(4)):
            parts.append(draw(st.sampled_from(RAW_GARBAGE)).replace("\xff", "%FF").replace("\xc3", "%C3"))
        else:
            parts.append(f"{encode(draw(field_names))}={encode(draw(values(pool)))}")
    if len(parts) > 1 and draw(st.booleans()):
        parts = draw(st.permutations(parts))
    return "&".join(parts)[:MAX_URL_PART]


CONTENT_TYPES = ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
                 "APPLICATION/X-WWW-FORM-URLENCODED", "application/x-www-form-urlencoded; charset=latin-1",
                 "multipart/form-data; boundary=x", "application/json", "text/plain", "text/html", "",
                 "application/x-www-form-urlencoded\x7f", "*/*", "application/octet-stream")


@dataclass(frozen=True)
class Body:
    content: bytes
    headers: dict[str, str]
    sent: str  # everything sent, decoded, for the leak check (a page may show input again)


def _headers(draw: st.DrawFn, content_type: str) -> dict[str, str]:
    headers = {"content-type": content_type} if content_type else {}
    fetch_site = draw(st.sampled_from([None, None, None, "same-origin", "none", "cross-site", "same-site",
                                       "CROSS-SITE", "garbage"]))
    if fetch_site is not None:
        headers["sec-fetch-site"] = fetch_site
    return headers


@st.composite
def form_bodies(draw: st.DrawFn, form: Form | None, pool: Sequence[str]) -> Body:
    """A urlencoded body for `form` (its real hidden tokens, fuzzed visible fields), or random fields if None.

    Half the bodies are well-formed (tokens kept, right content type, same-origin) so that they get past the CSRF
    check into the route with fuzzed values; the others are broken on purpose in one or more ways.
    """
    clean = form is not None and draw(st.booleans())
    pairs: list[tuple[str, str]] = []
    if form is not None:
        for name, value in form.hidden.items():
            mode = "keep" if clean else draw(st.sampled_from(["keep"] * 6 + ["drop", "fuzz"]))
            if mode == "keep":
                pairs.append((name, value))
            elif mode == "fuzz":
                pairs.append((name, draw(values([value, *pool]))))
        for field in form.fields:
            if not clean and draw(one_in(10)):
                continue  # field left out
            if field.options and draw(st.booleans()):
                pairs.append((field.name, draw(st.sampled_from(field.options))))
            else:
                pairs.append((field.name, draw(values(pool))))
    if not clean:
        extra = draw(st.integers(min_value=0, max_value=12 if form is None else 2))
        if form is None or extra == 2:
            for _ in range(extra):
                pairs.append((draw(field_names), draw(values(pool))))
        if pairs and draw(one_in(6)):
            pairs.append(draw(st.sampled_from(pairs)))  # a field sent twice
    pairs = draw(st.permutations(pairs)) if len(pairs) > 1 and draw(st.booleans()) else pairs
    raw = "&".join(f"{encode(name)}={encode(value)}" for name, value in pairs).encode("ascii")
    if not clean and draw(one_in(5)):
        garbage = draw(st.sampled_from(RAW_GARBAGE))
        raw += ("&" + garbage if raw else garbage).encode("latin-1")
    content_type = CONTENT_TYPES[0] if clean else draw(st.sampled_from(CONTENT_TYPES[:2] * 4 + CONTENT_TYPES[2:]))
    if content_type == "application/json" and draw(st.booleans()):
        raw = json.dumps(dict(pairs)).encode("utf-8")
    elif content_type.startswith("multipart/") and draw(st.booleans()):
        raw = b"".join(b'--x\r\nContent-Disposition: form-data; name="' + n.encode("utf-8", "replace") + b'"\r\n\r\n'
                       + v.encode("utf-8", "replace") + b"\r\n" for n, v in pairs) + b"--x--\r\n"
    sent = " ".join(f"{name} {value}" for name, value in pairs)
    headers = {"content-type": content_type} if clean else _headers(draw, content_type)
    return Body(raw, headers, sent)


# --- chat API ---------------------------------------------------------------------------------------------------

VALID_SESSION = st.from_regex(r"[A-Za-z0-9_-]{16,64}", fullmatch=True)
SESSION_IDS = st.one_of(VALID_SESSION, st.text(max_size=80),
                        st.integers(), st.none(), st.sampled_from(["", "a" * 15, "a" * 65, "Zk3q9XwB2mPa7LrT_c-8"]))
CHAT_TEXTS = st.one_of(st.text(max_size=60), unicode_text, control_text, huge_text,
                       st.sampled_from(["/greet", "/greet{\"x\": 1}", "//restart", "/", " /stop ", "/" + "a" * 65,
                                        "/inform{\"category\":\"fraude\"}", "\x00/greet", "hallo"]))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children,
                                                                                max_size=4)),
    max_leaves=12,
)


@st.composite
def chat_bodies(draw: st.DrawFn) -> Body:
    """A chat API body: half are well-formed messages (valid session id, fuzzed text), the others anything."""
    if draw(st.booleans()):
        data = {"session": draw(VALID_SESSION), "text": draw(CHAT_TEXTS)}
        raw = json.dumps(data, ensure_ascii=draw(st.booleans())).encode("utf-8")
        return Body(raw, {"content-type": "application/json"}, raw.decode("utf-8"))
    kind = draw(st.sampled_from(["message", "message", "json", "raw", "deep", "extra"]))
    if kind == "message":
        data = {"session": draw(SESSION_IDS), "text": draw(CHAT_TEXTS)}
    elif kind == "extra":
        data = {"session": draw(SESSION_IDS), "text": draw(json_values), draw(st.text(max_size=8)): draw(json_values)}
    else:
        data = draw(json_values)
    if kind == "raw":
        raw = draw(st.one_of(st.binary(max_size=200), st.sampled_from(
            [b"", b"{", b'{"text": "a"', b"\xff\xfe{}", b'{"session": "\xff", "text": "x"}', b"NaN", b"1e999999",
             b'{"text": "\\ud800", "session": "Zk3q9XwB2mPa7LrT"}', b"9" * 5000, b'"' + b"a" * 70_000 + b'"'])))
    elif kind == "deep":
        depth = draw(st.sampled_from([100, 1000, 5000, 30_000]))
        raw = (b"[" * depth + b"]" * depth) if draw(st.booleans()) else (b'{"a":' * depth + b"1" + b"}" * depth)
    else:
        raw = json.dumps(data, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    content_type = draw(st.sampled_from(["application/json"] * 4 + [
        "application/json; charset=utf-8", "text/plain", "", "application/x-www-form-urlencoded", "APPLICATION/JSON"]))
    return Body(raw, _headers(draw, content_type), raw.decode("utf-8", "replace"))
