"""Stage names are data shown in the reader's language: default stages through the
catalogue, custom stages through their own labels, the stored name as the last resort."""

from __future__ import annotations

from storage.models import Contact, Deal, Role, Stage
from storage.pipeline import find_stage
from tests.harness import ChatHarness


async def test_default_stages_read_in_each_readers_language(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES, lang="fr")
    bob = await chat.user("bob", Role.SALES)
    await alice.says("/newcontact Ann Martin | +33612345678")
    ann = await Contact.get(name="Ann Martin")
    await alice.says(f"/newdeal C{ann.id} | Chaudière | 1000")
    deal = await Deal.get(title="Chaudière")
    await alice.says("/pipeline")
    assert "Prospect : 1 affaire, 1\u202f000,00\xa0€ — 10 % → 100,00\xa0€" in alice.last_text
    assert "Négociation : 0 affaire" in alice.last_text and "Lead" not in alice.last_text
    await alice.says(f"/deal D{deal.id}")
    assert "Prospect" in alice.last_text
    assert {"Qualifié", "Proposition", "Négociation"} <= set(alice.buttons())
    await alice.says(f"/move D{deal.id} proposition")
    assert "Proposition" in alice.last_text
    await bob.says("/pipeline")
    assert "Proposal: 0 deals" in bob.last_text  # bob sees only his deals, in English


async def test_a_custom_stage_shows_its_label_per_language_and_is_found_by_it(
    chat: ChatHarness,
) -> None:
    await Stage.create(
        name="Quote sent", position=3, probability=60, labels={"fr": "Devis envoyé", "en": "Quote sent"}
    )
    await Stage.create(name="Trial <beta>", position=4, probability=65)
    alice = await chat.user("alice", Role.SALES, lang="fr")
    await alice.says("/newcontact Ann Martin | +33612345678")
    ann = await Contact.get(name="Ann Martin")
    await alice.says(f"/newdeal C{ann.id} | Pompe | 200")
    deal = await Deal.get(title="Pompe")
    assert (await find_stage("devis envoyé")).name == "Quote sent"
    await alice.says(f"/move D{deal.id} Devis envoyé")
    assert "Devis envoyé" in alice.last_text
    await alice.says("/pipeline")
    assert "Devis envoyé : 1 affaire" in alice.last_text
    assert "Trial &lt;beta&gt; : 0 affaire" in alice.last_text  # no label: the name, escaped


async def test_stage_names_in_error_sentences_are_in_the_readers_language(chat: ChatHarness) -> None:
    await Stage.create(
        name="Quote sent", position=3, probability=60, labels={"fr": "Devis envoyé", "en": "Quote sent"}
    )
    alice = await chat.user("alice", Role.SALES, lang="fr")
    bob = await chat.user("bob", Role.SALES)
    await alice.says("/newcontact Ann Martin | +33612345678")
    ann = await Contact.get(name="Ann Martin")
    await alice.says(f"/newdeal C{ann.id} | Chaudière | 1000")
    deal = await Deal.get(title="Chaudière")
    await alice.says(f"/move D{deal.id} prospect")  # raised in storage with the stage
    assert "L'affaire est déjà à l'étape Prospect." in alice.last_text
    assert "Lead" not in alice.last_text
    await alice.says(f"/move D{deal.id} Devis envoyé")
    await alice.says(f"/move D{deal.id} devis envoyé")
    assert "L'affaire est déjà à l'étape Devis envoyé." in alice.last_text  # a custom stage's label
    await alice.says(f"/move D{deal.id} Nulle part")
    assert "« Nulle part » n'est pas une étape" in alice.last_text
    assert "Prospect, Qualifié, Proposition, Négociation, Devis envoyé, Gagné, Perdu" in alice.last_text
    # The same errors read in English by an English reader.
    await bob.says("/newcontact Bea | +33612345670")
    bea = await Contact.get(name="Bea")
    await bob.says(f"/newdeal C{bea.id} | Pump | 10")
    pump = await Deal.get(title="Pump")
    await bob.says(f"/move D{pump.id} lead")
    assert "The deal is already at stage Lead." in bob.last_text
    await bob.says(f"/move D{pump.id} nowhere")
    assert "Lead, Qualified, Proposal, Negotiation, Quote sent, Won, Lost" in bob.last_text
    assert (await Deal.get(id=deal.id).select_related("stage")).stage.name == "Quote sent"
