"""The gettext catalogues: every key has its English and French text with the same
placeholders (plural forms included), plurals follow each language's rule, no "(s)" wording,
and every key the code names is in the catalogue (what `make messages` extracts)."""

from __future__ import annotations

import os
import re
import string
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

import storage.i18n as i18n
from bot.i18n_extract import extract_python
from storage.i18n import DOMAIN, LOCALE_DIR, t

ROOT = Path(__file__).resolve().parents[1]
PERCENT = re.compile(r"%\((\w+)\)[sdif]")


def placeholders(text: str) -> set[str]:
    """`{name}` and `%(name)s` fields of a message text."""
    fields = {
        name.split(".")[0].split("[")[0]
        for _, name, _, _ in string.Formatter().parse(text)
        if name is not None
    }
    return fields | set(PERCENT.findall(text))


def forms(message_string: object) -> tuple[str, ...]:
    return tuple(message_string) if isinstance(message_string, tuple | list) else (str(message_string),)


def load(lang: str) -> Catalog:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def problems(english: Catalog, french: Catalog) -> list[str]:
    """What is wrong with the French catalogue against the English one."""
    found: list[str] = []
    french_by_id = {m.id if isinstance(m.id, str) else m.id[0]: m for m in french if m.id}
    for message in english:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        english_forms = forms(message.string)
        if not all(english_forms):
            found.append(f"{key}: no English text")
            continue
        expected = placeholders(english_forms[-1])
        if isinstance(message.id, tuple | list) and message.id[1] not in expected:
            found.append(f"{key}: the count parameter {message.id[1]!r} is not in the text")
        other = french_by_id.get(key)
        if other is None or not all(forms(other.string)):
            found.append(f"{key}: no French translation")
            continue
        if isinstance(message.id, tuple | list) != isinstance(other.id, tuple | list):
            found.append(f"{key}: plural in one language only")
        for text in english_forms + forms(other.string):
            if placeholders(text) != expected:
                found.append(f"{key}: placeholders {sorted(placeholders(text))} != {sorted(expected)}")
    return found


def test_every_message_has_its_french_translation_with_the_same_placeholders():
    english, french = load("en"), load("fr")
    assert len(english) > 500
    assert problems(english, french) == []
    assert {m.id if isinstance(m.id, str) else m.id[0] for m in french if m.id} == {
        m.id if isinstance(m.id, str) else m.id[0] for m in english if m.id
    }


def _catalog(lang: str, po: str) -> Catalog:
    header = f'msgid ""\nmsgstr ""\n"Language: {lang}\\n"\n"Plural-Forms: nplurals=2; plural=(n > 1);\\n"\n\n'
    return read_po(BytesIO((header + po).encode()), locale=lang)


def test_the_check_catches_a_missing_translation_and_a_renamed_placeholder():
    english = _catalog(
        "en",
        'msgid "a"\nmsgstr "Hello {name}"\n\nmsgid "b"\nmsgstr "{n} %(who)s"\n\n'
        'msgid "c"\nmsgid_plural "count"\nmsgstr[0] "{count} day"\nmsgstr[1] "{count} days"\n\n'
        'msgid "d"\nmsgstr "Bye"\n',
    )
    french = _catalog(
        "fr",
        'msgid "a"\nmsgstr "Bonjour {nom}"\n\nmsgid "b"\nmsgstr "{n} %(qui)s"\n\n'
        'msgid "c"\nmsgid_plural "count"\nmsgstr[0] "{count} jour"\nmsgstr[1] "des jours"\n\n'
        'msgid "d"\nmsgstr ""\n',
    )
    found = problems(english, french)
    assert any(p.startswith("a: placeholders ['nom']") for p in found)
    assert any(p.startswith("b: placeholders ['n', 'qui']") for p in found)
    assert any(p.startswith("c: placeholders []") for p in found)
    assert "d: no French translation" in found


def test_no_message_says_s_in_brackets():
    for lang in ("en", "fr"):
        for message in load(lang):
            for text in forms(message.string) if message.id else ():
                assert not re.search(r"\((s|e|x|es)\)", text), (lang, message.id, text)


@pytest.mark.parametrize(
    ("lang", "count", "expected"),
    [
        ("en", 0, "0 days late"),
        ("en", 1, "1 day late"),
        ("en", 2, "2 days late"),
        ("fr", 0, "0 jour de retard"),
        ("fr", 1, "1 jour de retard"),
        ("fr", 2, "2 jours de retard"),
    ],
)
def test_plurals_follow_each_languages_rule(lang, count, expected):
    text = t(
        lang, "coll.row", task=1, number="F1", contact="A&B", amount="1 €", days=count, level=1, owner="Ann"
    )
    assert expected in text and "A&amp;B" in text


def test_every_key_the_code_names_is_in_the_catalogue():
    english = {m.id if isinstance(m.id, str) else m.id[0] for m in load("en") if m.id}
    named: dict[str, str] = {}
    for package in ("bot", "storage", "mail"):
        for path in (ROOT / package).rglob("*.py"):
            with path.open("rb") as handle:
                for lineno, _, message, _ in extract_python(handle, None, None, {}):
                    key = message if isinstance(message, str) else message[0]
                    named[key] = f"{path.relative_to(ROOT)}:{lineno}"
    assert len(named) > 250
    assert {k: v for k, v in named.items() if k not in english} == {}


def test_a_stale_compiled_catalogue_is_rebuilt_from_its_po(tmp_path, monkeypatch):
    for lang in ("en", "fr"):
        target = tmp_path / lang / "LC_MESSAGES"
        target.mkdir(parents=True)
        po = (LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").read_text()
        (target / f"{DOMAIN}.po").write_text(po.replace("Aucun contact trouvé.", "Personne."))
        (target / f"{DOMAIN}.mo").write_bytes(b"not a catalogue")
        os.utime(target / f"{DOMAIN}.mo", (0, 0))  # older than the .po
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.messages.cache_clear()
    try:
        assert t("fr", "contacts.none") == "Personne."
    finally:
        monkeypatch.undo()
        i18n.messages.cache_clear()
    assert t("fr", "contacts.none") == "Aucun contact trouvé."


def test_make_messages_keeps_every_key():
    """`pybabel update` turns obsolete every key that no literal in the code names and no
    `runtime_prefixes` of babel.cfg covers: none may be in that case."""
    config = (ROOT / "babel.cfg").read_text()
    found = re.search(r"^runtime_prefixes = (.+)$", config, flags=re.MULTILINE)
    assert found is not None
    prefixes = tuple(found.group(1).split())
    named: set[str] = set()
    for package in ("bot", "storage", "mail"):
        for path in (ROOT / package).rglob("*.py"):
            with path.open("rb") as handle:
                named |= {
                    m if isinstance(m, str) else m[0] for _, _, m, _ in extract_python(handle, None, None, {})
                }
    english = {m.id if isinstance(m.id, str) else m.id[0] for m in load("en") if m.id}
    assert sorted(k for k in english if k not in named and not k.startswith(prefixes)) == []


def test_keys_built_at_run_time_are_all_there():
    """Texts whose key is made of a code: every code has its message in both languages."""
    from storage.einvoicing.statuses import Lifecycle, label
    from storage.health import Check

    for code in Lifecycle:
        assert str(int(code)) not in (label(code, "fr"), label(code, "en"))
        assert label(code, "fr") != label(code, "en")
    assert label(Lifecycle.CASHED, "fr") == "Encaissée" and label(Lifecycle.CASHED, "en") == "Cashed"
    for problem in ("not_ordered", "not_received", "price"):
        assert f"pa.match.{problem}" in i18n.messages("fr")
    for outcome in ("ok", "error", "raced"):
        assert f"status.outcome_{outcome}" in i18n.messages("fr")
    for name in ("database", "jobs", "outbox"):
        assert Check(name, True, f"{name}_ok").line("fr")


def test_a_localized_parameter_is_said_in_the_readers_language():
    stage = i18n.StageLabel("Lead")
    custom = i18n.StageLabel("Quote sent", {"fr": "Devis <envoyé>"})
    assert t("fr", "error.same_stage", stage=stage) == "L'affaire est déjà à l'étape Prospect."
    assert t("en", "error.same_stage", stage=custom) == "The deal is already at stage Quote sent."
    assert t("fr", "error.same_stage", stage=custom) == "L'affaire est déjà à l'étape Devis &lt;envoyé&gt;."
    assert i18n.text("fr", "error.same_stage", stage=custom) == "L'affaire est déjà à l'étape Devis <envoyé>."
    assert str(i18n.StageList((stage, custom))) == "Lead, Quote sent"


def test_a_phrase_is_stored_as_json_and_said_in_each_language():
    phrase = i18n.Phrase.of(
        ("job.tasks_opened", {"count": 1}), None, ("job.dunning_queued", {"count": 3}), ("job.gone", {})
    )
    stored = i18n.Phrase.from_json(phrase.as_json())
    assert stored == phrase
    assert str(stored) == "1 task opened, 3 dunning emails queued, job.gone"  # a key since removed
    assert stored.in_lang("fr") == "1 tâche ouverte, 3 relances mises en file d'envoi, job.gone"
    assert i18n.Phrase.from_json("plain text") is None
    assert i18n.Phrase.from_json([["job.closed"]]) is None
