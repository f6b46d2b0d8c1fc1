"""Messages of payments read from the bank: lists, matching, alerts, errors."""

MESSAGES: dict[str, tuple[str, str]] = {
    "payments.none": ("No payment to show.", "Aucun paiement à afficher."),
    "payments.title_recent": ("<b>Recent payments</b>", "<b>Paiements récents</b>"),
    "payments.title_unmatched": (
        "<b>Unmatched payments</b> (press one to choose its invoice)",
        "<b>Paiements non rapprochés</b> (touchez-en un pour choisir sa facture)",
    ),
    "payments.title_quarantine": ("<b>Quarantined mail</b>", "<b>Courriels en quarantaine</b>"),
    "payments.quarantine_none": ("No mail in quarantine.", "Aucun courriel en quarantaine."),
    "payments.line": (
        "<b>P{id}</b> {date} {amount} — {payer} — {state}",
        "<b>P{id}</b> {date} {amount} — {payer} — {state}",
    ),
    "payments.state_matched": ("→ {number}", "→ {number}"),
    "payments.state_unmatched": ("unmatched", "non rapproché"),
    "payments.state_ignored": ("{direction}, not settling", "{direction}, sans effet"),
    "payments.quarantine_line": (
        "<b>M{id}</b> {status} — {sender} — {subject}\n   {reason}",
        "<b>M{id}</b> {status} — {sender} — {subject}\n   {reason}",
    ),
    "payments.card": (
        "<b>P{id}</b> {amount} on {date}\nPayer: {payer} {iban}\nReference: {reference}\n"
        "Remittance: {remittance}{note}",
        "<b>P{id}</b> {amount} le {date}\nPayeur : {payer} {iban}\nRéférence : {reference}\n"
        "Libellé : {remittance}{note}",
    ),
    "payments.pick": ("Which invoice does it settle?", "Quelle facture règle-t-il ?"),
    "payments.no_candidate": (
        "No likely invoice; use /match P{id} F2026-00042.",
        "Aucune facture probable ; utilisez /match P{id} F2026-00042.",
    ),
    "payments.matched": (
        "P{id} matched to <b>{number}</b>: {amount} paid, balance {balance}.",
        "P{id} rapproché de <b>{number}</b> : {amount} payés, reste dû {balance}.",
    ),
    "payments.returned": (
        "Return P{id} tied to <b>{number}</b>: {amount} is due again, balance {balance}.",
        "Retour P{id} rattaché à <b>{number}</b> : {amount} de nouveau dus, reste dû {balance}.",
    ),
    "payments.btn_show": ("Choose the invoice", "Choisir la facture"),
    "alert.payment_received": (
        "💶 <b>{number}</b> paid by {payer}: {amount}, balance {balance}.",
        "💶 <b>{number}</b> payée par {payer} : {amount}, reste dû {balance}.",
    ),
    "alert.payment_surplus": (
        "⚠️ <b>{number}</b>: {payer} paid {surplus} too much. Refund it or apply it to "
        "another invoice.",
        "⚠️ <b>{number}</b> : {payer} a payé {surplus} de trop. Remboursez-le ou imputez-le "
        "sur une autre facture.",
    ),
    "alert.payment_unmatched": (
        "❓ Payment P{id} of {amount} from {payer} matches no invoice by itself.{note}",
        "❓ Le paiement P{id} de {amount} de {payer} ne correspond à aucune facture.{note}",
    ),
    "alert.payment_returned": (
        "↩️ <b>{number}</b>: the payment of {payer} came back ({reason}). {amount} is due "
        "again, balance {balance}; its collection task is open again.",
        "↩️ <b>{number}</b> : le paiement de {payer} est revenu ({reason}). {amount} est de "
        "nouveau dû, reste dû {balance} ; sa tâche de recouvrement est rouverte.",
    ),
    "alert.mail_partly_read": (
        "📨 Bank email M{id} from {sender} was read, but part of it was refused: {reason}\n"
        "Subject: {subject}",
        "📨 Le courriel de la banque M{id} de {sender} a été lu, mais une partie a été "
        "refusée : {reason}\nObjet : {subject}",
    ),
    "alert.payment_held": (
        "❓ Payment P{id} of {amount} from {payer} was not settled by itself: {reason}.{note}",
        "❓ Le paiement P{id} de {amount} de {payer} n'a pas été rapproché automatiquement : "
        "{reason}.{note}",
    ),
    "alert.quarantined": (
        "🚫 A payment email was quarantined (M{id}) and settles nothing.\nFrom: {sender}\n"
        "Subject: {subject}\nReason: {reason}",
        "🚫 Un courriel de paiement a été mis en quarantaine (M{id}) et ne règle rien.\n"
        "De : {sender}\nObjet : {subject}\nMotif : {reason}",
    ),
    "alert.mail_unrecognised": (
        "📨 A bank email (M{id}) from {sender} could not be read: {reason}\nSubject: {subject}",
        "📨 Un courriel de la banque (M{id}) de {sender} n'a pas pu être lu : {reason}\n"
        "Objet : {subject}",
    ),
    "alert.mailbox_down": (
        "📭 The payments mailbox ({folder}) has been unreachable since {since}: {error}",
        "📭 La boîte des paiements ({folder}) est injoignable depuis le {since} : {error}",
    ),
    "error.payments_forbidden": (
        "Only managers, admins and collections see payments.",
        "Seuls les responsables, administrateurs et le recouvrement voient les paiements.",
    ),
    "error.payment": ("No payment P{id}.", "Aucun paiement P{id}."),
    "error.payment_invoice": ("No invoice “{ref}”.", "Aucune facture « {ref} »."),
    "error.payment_not_unmatched": (
        "Payment P{id} is not waiting for a match.",
        "Le paiement P{id} n'attend pas de rapprochement.",
    ),
    "error.invoice_not_open": (
        "Invoice {number} is not open (already paid, cancelled or a draft).",
        "La facture {number} n'est pas ouverte (déjà payée, annulée ou brouillon).",
    ),
    "error.invoice_not_paid": (
        "Invoice {number} has received no payment: a return cannot be tied to it.",
        "La facture {number} n'a reçu aucun paiement : un retour ne peut pas lui être rattaché.",
    ),
    "error.payment_currency": (
        "The payment is in {currency}, invoice {number} is not.",
        "Le paiement est en {currency}, la facture {number} non.",
    ),
    "alert.payment_on_credited": (
        "💸 {payer} paid {amount} for invoice {number}, already cancelled by credit note "
        "{credit_note}: the money is owed back. Refund to make now {total}. "
        "/refunded {credit_note} once done.",
        "💸 {payer} a payé {amount} pour la facture {number}, déjà annulée par l'avoir "
        "{credit_note} : cet argent est à rendre. Remboursement à faire : {total}. "
        "/refunded {credit_note} une fois fait.",
    ),
    "held.credited_refunded": (
        "A payment for invoice {number}, cancelled by credit note {credit_note} whose refund "
        "was already made: pay it back or tie it by hand.",
        "Un paiement pour la facture {number}, annulée par l'avoir {credit_note} déjà "
        "remboursé : rendez-le ou rattachez-le à la main.",
    ),
    "error.payments_list": (
        "Choose recent, unmatched or quarantine.",
        "Choisissez recent, unmatched ou quarantine.",
    ),
}
