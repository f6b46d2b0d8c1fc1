"""Messages of the e-invoicing area: PA statuses, supplier invoices and their buttons."""

MESSAGES: dict[str, tuple[str, str]] = {
    "alert.pa_status": (
        "🧾 <b>{number}</b> ({contact}) at the e-invoicing platform: <b>{status_en}</b>.",
        "🧾 <b>{number}</b> ({contact}) sur la plateforme de facturation : <b>{status_fr}</b>.",
    ),
    "alert.pa_rejected": (
        "⛔ The platform <b>rejected</b> {number} ({contact}): it was never delivered.\n"
        "Reason ({reason_code}): {reason}\nFix the client's data (SIREN, VAT number, address) "
        "or the invoice, then press Resubmit.",
        "⛔ La plateforme a <b>rejeté</b> {number} ({contact}) : elle n'a pas été transmise.\n"
        "Motif ({reason_code}) : {reason}\nCorrigez les données du client (SIREN, n° de TVA, "
        "adresse) ou la facture, puis appuyez sur Renvoyer.",
    ),
    "alert.pa_refused": (
        "⛔ {contact} <b>refused</b> {number}.\nReason ({reason_code}): {reason}\nA refused "
        "invoice is final: issue a credit note, then a corrected invoice.",
        "⛔ {contact} a <b>refusé</b> {number}.\nMotif ({reason_code}) : {reason}\nUne facture "
        "refusée est définitive : émettez un avoir puis une facture corrigée.",
    ),
    "alert.pa_disputed": (
        "⚠️ {contact} <b>disputes</b> {number}: {reason} ({reason_code}). Reminders are paused "
        "until it is resolved.",
        "⚠️ {contact} <b>conteste</b> {number} : {reason} ({reason_code}). Les relances sont "
        "suspendues jusqu'à résolution.",
    ),
    "alert.pa_suspended": (
        "⏸ {contact} <b>suspended</b> {number}: {reason} ({reason_code}). Send what is missing.",
        "⏸ {contact} a <b>suspendu</b> {number} : {reason} ({reason_code}). Transmettez ce qui "
        "manque.",
    ),
    "alert.pa_failed": (
        "⚠️ The e-invoicing platform refused to take {number}: {error}",
        "⚠️ La plateforme de facturation a refusé de prendre {number} : {error}",
    ),
    "alert.pa_inbound_failed": (
        "⚠️ A flow from the e-invoicing platform ({type} {flow}) could not be read after many "
        "attempts: {error}",
        "⚠️ Un flux de la plateforme de facturation ({type} {flow}) n'a pas pu être lu après "
        "de nombreux essais : {error}",
    ),
    "alert.supplier_invoice": (
        "📥 Supplier invoice <b>{number}</b> from {supplier}: {gross}, order {po}.\n"
        "Matched lines: {matched}/{lines}; price difference {price_difference}.\n"
        "<i>SKU: invoiced / received</i>\n{detail}",
        "📥 Facture fournisseur <b>{number}</b> de {supplier} : {gross}, commande {po}.\n"
        "Lignes rapprochées : {matched}/{lines} ; écart de prix {price_difference}.\n"
        "<i>Article : facturé / reçu</i>\n{detail}",
    ),
    "alert.supplier_invoice_approved": (
        "✅ Supplier invoice <b>{number}</b> from {supplier} ({gross}) matched its order and "
        "receipts: approved automatically.",
        "✅ Facture fournisseur <b>{number}</b> de {supplier} ({gross}) conforme à la commande "
        "et aux réceptions : approuvée automatiquement.",
    ),
    "pa.card_title": (
        "<b>E-invoicing platform</b> (flow {tracking}):",
        "<b>Plateforme de facturation</b> (flux {tracking}) :",
    ),
    "pa.card_status": ("• {date} {status}{reason}", "• {date} {status}{reason}"),
    "pa.card_sent": ("• {date} sent: {status}", "• {date} envoyé : {status}"),
    "pa.card_queued": ("• waiting to be submitted", "• en attente de transmission"),
    "pa.card_address": (
        "🧾 E-invoicing address: {address} (platform {platform})",
        "🧾 Adresse de facturation électronique : {address} (plateforme {platform})",
    ),
    "pa.card_not_found": (
        "🧾 SIREN {siren} is not in the e-invoicing directory.",
        "🧾 Le SIREN {siren} n'est pas dans l'annuaire de facturation électronique.",
    ),
    "pa.card_also_email": (" · PDF by email too", " · PDF aussi par e-mail"),
    "pa.pdf_on": (
        "{contact} will also get each invoice's PDF by email.",
        "{contact} recevra aussi le PDF de chaque facture par e-mail.",
    ),
    "pa.pdf_off": (
        "{contact} gets invoices through the e-invoicing platform only.",
        "{contact} reçoit ses factures par la plateforme uniquement.",
    ),
    "pa.btn_resubmit": ("Resubmit", "Renvoyer"),
    "pa.btn_approve": ("Approve", "Approuver"),
    "pa.btn_dispute": ("Dispute", "Contester"),
    "pa.btn_refuse": ("Refuse", "Refuser"),
    "pa.resubmitted": (
        "{number} will be submitted again to the platform.",
        "{number} sera de nouveau transmise à la plateforme.",
    ),
    "pa.resubmitted_same": (
        "{number} will be submitted again unchanged: it was already emailed or paid, so "
        "correcting its content needs a credit note and a new invoice.",
        "{number} sera de nouveau transmise sans changement : déjà envoyée par e-mail ou "
        "payée, sa correction passe par un avoir et une nouvelle facture.",
    ),
    "pa.si_done": (
        "Supplier invoice {number}: {decision}. The platform will be told.",
        "Facture fournisseur {number} : {decision}. La plateforme en sera informée.",
    ),
    "pa.decision.approve": ("approved", "approuvée"),
    "pa.decision.dispute": ("disputed", "contestée"),
    "pa.decision.refuse": ("refused", "refusée"),
    "pa.ask_reason": ("What is wrong with it?", "Qu'est-ce qui ne va pas ?"),
    "pa.ask_code": ("Reason code?", "Code motif ?"),
    "pa.ask_reason_optional": (
        "A word for the supplier? (- to skip)",
        "Un mot pour le fournisseur ? (- pour passer)",
    ),
    "error.si_reason": ("Say why in a few words.", "Indiquez le motif en quelques mots."),
    "error.si_reason_code": ("Choose a reason code: {codes}.", "Choisissez un code motif : {codes}."),
    "error.si_decided": (
        "Supplier invoice {number} is already decided.",
        "La facture fournisseur {number} est déjà traitée.",
    ),
    "error.si_role": (
        "Only purchasing or a manager can decide supplier invoices.",
        "Seuls les achats ou un responsable peuvent traiter les factures fournisseurs.",
    ),
    "error.si_missing": ("No supplier invoice {id}.", "Aucune facture fournisseur {id}."),
    "error.pa_not_rejected": (
        "{ref} was not rejected by the platform: nothing to resubmit.",
        "{ref} n'a pas été rejetée par la plateforme : rien à renvoyer.",
    ),
}
