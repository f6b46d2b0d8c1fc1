"""Dialogs about deals: /newdeal, the deal card's buttons, /deals, /pipeline."""

from __future__ import annotations

from storage.models import Contact, Deal, Role, StageChange
from tests.harness import ChatHarness, Person


async def _contact(person: Person, line: str) -> Contact:
    await person.says(f"/newcontact {line}")
    return await Contact.get(name=line.split("|")[0].strip())


async def test_new_deal_in_one_line_stores_exact_cents(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    ann = await _contact(alice, "Ann Martin | +33612345678")
    await alice.says(f"/newdeal C{ann.id} | Boiler | 12 000,50")
    deal = await Deal.get(title="Boiler").select_related("stage")
    assert (deal.amount_cents, deal.currency, deal.stage.name) == (1_200_050, "EUR", "Lead")
    assert deal.owner_id == alice.user.id  # type: ignore[union-attr]
    assert "Deal created" in alice.last_text and "€12,000.50" in alice.last_text
    await alice.says(f"/newdeal C{ann.id} | Pump | 1,500.25 USD")
    assert (await Deal.get(title="Pump")).amount_cents == 150_025
    assert (await Deal.get(title="Pump")).currency == "USD"
    await alice.says(f"/newdeal C{ann.id} | Tank | 12k")
    assert (await Deal.get(title="Tank")).amount_cents == 1_200_000


async def test_bad_amount_gets_the_accepted_forms_and_writes_nothing(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    ann = await _contact(alice, "Ann | +33612345678")
    for amount in ("twelve", "12,0,0", "-5", "12 XYZ"):
        await alice.says(f"/newdeal C{ann.id} | Boiler | {amount}")
        assert "12 000,50" in alice.last_text or "currency" in alice.last_text, amount
    await alice.says(f"/newdeal C{ann.id} | Boiler")
    assert "Usage" in alice.last_text
    assert await Deal.all().count() == 0


async def test_step_by_step_with_several_matching_contacts_offers_buttons(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES, lang="fr")
    await _contact(alice, "Ann Martin | +33612345678")
    durand = await _contact(alice, "Ann Durand | +33612345679")
    await alice.says("/newdeal")
    assert "Pour quel contact" in alice.last_text
    await alice.says("ann")
    await alice.says("Chaudière")
    await alice.says("douze")
    assert "n'est pas un montant compris" in alice.last_text
    await alice.says("3 500,00 €")
    assert "Plusieurs contacts correspondent" in alice.last_text
    assert any("Ann Durand" in b for b in alice.buttons())
    assert any("Ann Martin" in b for b in alice.buttons())
    await alice.presses("Ann Durand")
    deal = await Deal.get(title="Chaudière")
    assert deal.contact_id == durand.id and deal.amount_cents == 350_000
    assert "Affaire créée" in alice.last_text and "3\u202f500,00\xa0€" in alice.last_text
    await alice.presses_data(f"deal:pick:{durand.id}")  # the same choice twice: expired
    assert "expiré" in alice.last_text
    assert await Deal.all().count() == 1


async def test_card_buttons_move_win_and_lose_with_history(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    ann = await _contact(alice, "Ann | +33612345678")
    await alice.says(f"/newdeal C{ann.id} | Boiler | 1000")
    deal = await Deal.get(title="Boiler")
    await alice.presses("Proposal")
    assert "Stage: Proposal" in alice.last_text
    assert (await Deal.get(id=deal.id).select_related("stage")).stage.name == "Proposal"
    await alice.says(f"/move D{deal.id} negotiation")
    assert "moved to Negotiation" in alice.last_text
    await alice.says(f"/move D{deal.id} Nowhere")
    assert "is not a stage" in alice.last_text
    await alice.says(f"/deal D{deal.id}")
    await alice.presses("Won")
    won = await Deal.get(id=deal.id).select_related("stage")
    assert won.stage.is_won and won.won_at is not None
    assert "Won" not in " ".join(alice.buttons())
    history = await StageChange.filter(deal_id=deal.id).order_by("id").select_related("to_stage")
    assert [h.to_stage.name for h in history] == ["Lead", "Proposal", "Negotiation", "Won"]
    await alice.says(f"/newdeal C{ann.id} | Pump | 500")
    pump = await Deal.get(title="Pump")
    await alice.presses("Lost")
    assert "Why was it lost" in alice.last_text
    await alice.says("Too <expensive>")
    lost = await Deal.get(id=pump.id).select_related("stage")
    assert lost.stage.is_lost and lost.lost_reason == "Too <expensive>"
    assert "marked lost" in alice.last_text
    await alice.says(f"/deal D{pump.id}")
    assert "Lost because: Too &lt;expensive&gt;" in alice.last_text


async def test_pipeline_for_sales_is_their_own_and_a_manager_sees_each_person(
    chat: ChatHarness,
) -> None:
    alice = await chat.user("alice", Role.SALES)
    bob = await chat.user("bob", Role.SALES)
    boss = await chat.user("boss", Role.MANAGER)
    ann = await _contact(alice, "Ann | +33612345678")
    zoe = await _contact(bob, "Zoé | +33612345679")
    await alice.says(f"/newdeal C{ann.id} | A1 | 1000")
    await alice.says(f"/newdeal C{ann.id} | A2 | 3000")
    await bob.says(f"/newdeal C{zoe.id} | B1 | 500")
    await alice.says("/pipeline")
    assert "Lead: 2 deals, €4,000.00 — 10% → €400.00" in alice.last_text
    assert "bob" not in alice.last_text and "€500.00" not in alice.last_text
    await boss.says("/pipeline")
    text = boss.last_text
    assert "Lead: 3 deals, €4,500.00 — 10% → €450.00" in text
    assert "<b>alice</b>" in text and "<b>bob</b>" in text
    bob_part = text[text.index("<b>bob</b>") :]
    assert "Lead: 1 deal, €500.00 — 10% → €50.00" in bob_part
    await bob.says("/deals all")
    assert "B1" in bob.last_text and "A1" not in bob.last_text
    await boss.says("/deals all")
    assert all(title in boss.last_text for title in ("A1", "A2", "B1"))


async def test_user_values_are_html_escaped_everywhere(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    await alice.says("/newcontact <b>Bob</b> & Co | +33612345678 | | <i>ACME</i>")
    assert "&lt;b&gt;Bob&lt;/b&gt; &amp; Co" in alice.last_text
    bob = await Contact.get(name="<b>Bob</b> & Co")
    await alice.says("/contacts bob")
    assert "&lt;b&gt;Bob&lt;/b&gt; &amp; Co" in alice.last_text and "<b>Bob</b>" not in alice.last_text
    await alice.says(f"/newdeal C{bob.id} | <script>x</script> | 100")
    assert "&lt;script&gt;x&lt;/script&gt;" in alice.last_text
    assert "<script>" not in alice.last_text
    await alice.says(f"/contact C{bob.id}")
    assert "&lt;i&gt;ACME&lt;/i&gt;" in alice.last_text
    assert "&lt;script&gt;" in alice.last_text and "<script>" not in alice.last_text
    await alice.says(f"/note C{bob.id} <u>call</u> & see")
    await alice.says(f"/contact C{bob.id}")
    assert "&lt;u&gt;call&lt;/u&gt; &amp; see" in alice.last_text
    await alice.says("/deals")
    assert "&lt;script&gt;" in alice.last_text and "<script>" not in alice.last_text


async def test_a_lost_deal_offers_won_but_not_lost_again(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    ann = await _contact(alice, "Ann | +33612345678")
    await alice.says(f"/newdeal C{ann.id} | Boiler | 1000")
    deal = await Deal.get(title="Boiler")
    await alice.says(f"/lost D{deal.id} budget cut")
    await alice.says(f"/deal D{deal.id}")
    labels = alice.buttons()
    assert any("Won" in b for b in labels) and not any("Lost" in b for b in labels)
    assert any("Proposal" in b for b in labels)


async def test_note_on_someone_elses_contact_is_refused_before_asking(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    bob = await chat.user("bob", Role.SALES)
    ann = await _contact(alice, "Ann | +33612345678")
    await bob.says(f"/note C{ann.id}")
    assert f"No contact C{ann.id}" in bob.last_text
    await bob.says("sneaky text")
    assert "Type /help" in bob.last_text  # no form was left pending
