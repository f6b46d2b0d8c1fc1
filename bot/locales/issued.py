"""Messages of issued documents: what each invoice list's total counts, credit notes, refunds."""

MESSAGES: dict[str, tuple[str, str]] = {
    "invoices.credit_status": ("credit note", "avoir"),
    "invoices.sum_all": (
        "<b>Net invoiced: {amounts}</b> (invoices minus credit notes: an invoice cancelled by "
        "its credit note counts for nothing; drafts left out)",
        "<b>Net facturé : {amounts}</b> (factures moins avoirs : une facture annulée par son "
        "avoir ne compte pas ; brouillons exclus)",
    ),
    "invoices.sum_draft": ("<b>Drafts: {amounts}</b> (not issued, owed by nobody)",
                           "<b>Brouillons : {amounts}</b> (non émis, dus par personne)"),
    "invoices.sum_open": (
        "<b>Still due: {amounts}</b> (open invoices, less what was already paid; credit "
        "notes are not owed)",
        "<b>Reste dû : {amounts}</b> (factures ouvertes, moins ce qui est déjà payé ; les "
        "avoirs ne sont pas dus)",
    ),
    "invoices.sum_overdue": (
        "<b>Overdue: {amounts}</b> (open invoices past their due date, less what was paid)",
        "<b>En retard : {amounts}</b> (factures ouvertes échues, moins ce qui est payé)",
    ),
    "invoices.sum_paid": ("<b>Paid: {amounts}</b> (paid invoices, VAT included)",
                          "<b>Payé : {amounts}</b> (factures payées, TTC)"),
    "refunds.title": ("<b>Refunds to make</b> (credit notes on invoices already paid):",
                      "<b>Remboursements à faire</b> (avoirs sur factures déjà payées) :"),
    "refunds.row": ("💸 {credit_note} (cancels {number}) — {contact} — {amount} to pay back · "
                    "/refunded {credit_note}",
                    "💸 {credit_note} (annule {number}) — {contact} — {amount} à rembourser · "
                    "/refunded {credit_note}"),
    "refunds.none": ("No refund to make.", "Aucun remboursement à faire."),
    "refunds.owed": ("The invoice was already paid: {amount} is owed back to the client. "
                     "Say /refunded {number} once it is paid back (a matching outgoing "
                     "transfer on the bank statement closes it by itself).",
                     "La facture était déjà payée : {amount} est à rembourser au client. "
                     "Indiquez /refunded {number} une fois remboursé (un virement sortant "
                     "correspondant sur le relevé le clôt tout seul)."),
    "refunds.done": ("Refund of {amount} for {ref} recorded as made.",
                     "Remboursement de {amount} pour {ref} noté comme fait."),
    "alert.refund_due": (
        "💸 Refund to make: {amount} to {contact} — credit note {credit_note} cancels invoice "
        "{number}, which was already paid. /refunded {credit_note} once done.",
        "💸 Remboursement à faire : {amount} à {contact} — l'avoir {credit_note} annule la "
        "facture {number}, déjà payée. /refunded {credit_note} une fois fait.",
    ),
    "alert.refund_done_manual": (
        "✅ Refund made: {amount} to {contact} for credit note {credit_note} (recorded by hand).",
        "✅ Remboursement fait : {amount} à {contact} pour l'avoir {credit_note} (noté à la main).",
    ),
    "alert.refund_done_bank": (
        "✅ Refund made: {amount} to {contact} for credit note {credit_note} (seen on the bank "
        "statement).",
        "✅ Remboursement fait : {amount} à {contact} pour l'avoir {credit_note} (vu sur le "
        "relevé bancaire).",
    ),
    "error.refund_none": ("{ref} owes no refund: it is not a credit note on a paid invoice.",
                          "{ref} ne donne lieu à aucun remboursement : ce n'est pas un avoir "
                          "sur une facture payée."),
    "error.refund_done": ("The refund for {ref} was already recorded as made.",
                          "Le remboursement de {ref} est déjà noté comme fait."),
    "error.refund_forbidden": ("Only collections staff and managers record refunds.",
                               "Seuls le recouvrement et les managers enregistrent les "
                               "remboursements."),
}
