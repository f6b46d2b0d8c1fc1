"""Messages of the background loop: collections, purchasing, reports, job status, alerts."""

MESSAGES: dict[str, tuple[str, str]] = {
    # Alerts (rendered at delivery; x_cents → {x} as money, x_date → {x} as a date).
    "alert.overdue": (
        "⏰ Invoice <b>{number}</b> ({contact}) is overdue: {amount} was due on {due} "
        "({days} day(s) ago).",
        "⏰ La facture <b>{number}</b> ({contact}) est en retard : {amount} dus le {due} "
        "(il y a {days} jour(s)).",
    ),
    "alert.escalated": (
        "🚨 Invoice <b>{number}</b> ({contact}, owner {owner}) is {days} days overdue: {amount}. "
        "The reminders did not work; please step in.",
        "🚨 La facture <b>{number}</b> ({contact}, suivie par {owner}) a {days} jours de retard : "
        "{amount}. Les relances n'ont rien donné ; merci d'intervenir.",
    ),
    "alert.dunning_no_email": (
        "✉️ No reminder could be sent for invoice <b>{number}</b> ({contact}): the client has no "
        "billing email. Add one, or call them.",
        "✉️ Aucune relance n'a pu partir pour la facture <b>{number}</b> ({contact}) : le client "
        "n'a pas d'e-mail de facturation. Ajoutez-en un, ou appelez-le.",
    ),
    "alert.collection_closed": (
        "✅ Collection closed for invoice <b>{number}</b> ({contact}): {reason}.",
        "✅ Recouvrement clos pour la facture <b>{number}</b> ({contact}) : {reason}.",
    ),
    "alert.stock_short": (
        "📦 Stock short: {sku} — {quantity} to order from {supplier} (draft {po}).",
        "📦 Stock insuffisant : {sku} — {quantity} à commander chez {supplier} (brouillon {po}).",
    ),
    "alert.stock_short_no_supplier": (
        "📦 Stock short for {sku}, but the product has no supplier: set one so I can order it.",
        "📦 Stock insuffisant pour {sku}, mais le produit n'a pas de fournisseur : "
        "renseignez-en un pour que je puisse commander.",
    ),
    "alert.goods_received": (
        "🚚 Goods received ({po}): deal <b>{deal}</b> {title} can be delivered.",
        "🚚 Marchandise reçue ({po}) : l'affaire <b>{deal}</b> {title} peut être livrée.",
    ),
    "alert.task_due": ("⏰ Task T{id} is due: {text}", "⏰ Tâche T{id} à faire : {text}"),
    "alert.digest": (
        "☀️ <b>Morning digest</b>\n"
        "Overdue invoices: {overdue_count} ({overdue})\n"
        "Payments received since the last digest: {payments_count} ({payments})\n"
        "Deals won: {won} · lost: {lost}\n"
        "Purchase orders pending: {pos}\n"
        "Supplier invoices to pay within 7 days: {suppliers_count} ({suppliers})\n"
        "Tasks due today: {tasks}",
        "☀️ <b>Point du matin</b>\n"
        "Factures en retard : {overdue_count} ({overdue})\n"
        "Paiements reçus depuis le dernier point : {payments_count} ({payments})\n"
        "Affaires gagnées : {won} · perdues : {lost}\n"
        "Commandes fournisseurs en cours : {pos}\n"
        "Factures fournisseurs à payer sous 7 jours : {suppliers_count} ({suppliers})\n"
        "Tâches du jour : {tasks}",
    ),
    # Buttons carried by alerts.
    "coll.btn_remind": ("✉️ Send reminder now", "✉️ Relancer maintenant"),
    "coll.btn_call": ("📞 Log call", "📞 Noter un appel"),
    "coll.btn_promise": ("🤝 Promise to pay", "🤝 Promesse de paiement"),
    "coll.btn_dispute": ("⚖️ Disputed / resolved", "⚖️ Litige / résolu"),
    "coll.btn_invoice": ("📄 Open invoice", "📄 Ouvrir la facture"),
    "po.btn_open": ("Open the order", "Ouvrir la commande"),
    "po.btn_send": ("✉️ Send to supplier", "✉️ Envoyer au fournisseur"),
    "po.btn_cancel": ("✖ Cancel", "✖ Annuler"),
    "po.btn_deliver": ("🚚 Delivered", "🚚 Livrée"),
    "ops.btn_task_done": ("✔ Done", "✔ Fait"),
    # Collections.
    "coll.title": ("<b>Open collections</b> (oldest first):", "<b>Recouvrements ouverts</b> (plus anciens d'abord) :"),
    "coll.older_events": ("… (older entries not shown)", "… (entrées plus anciennes non affichées)"),
    "coll.card": (
        "<b>Invoice {number}</b> — {contact}\nTotal {total}, paid {paid}, due {due}\nDunning level: {level}",
        "<b>Facture {number}</b> — {contact}\nTotal {total}, payé {paid}, échéance {due}\nNiveau de relance : {level}",
    ),
    "coll.none": ("No open collection task.", "Aucun recouvrement ouvert."),
    "coll.row": (
        "<b>R{task}</b> {number} — {contact} — {amount} — {days} day(s) late — level {level} ({owner})",
        "<b>R{task}</b> {number} — {contact} — {amount} — {days} jour(s) de retard — niveau {level} ({owner})",
    ),
    "coll.promised": (" · promised for {date}", " · promis pour le {date}"),
    "coll.disputed": (" · disputed", " · en litige"),
    "coll.reminded": ("Reminder queued for invoice {number}.", "Relance en file d'envoi pour la facture {number}."),
    "coll.ask_note": ("What was said on the call?", "Qu'a-t-il été dit au téléphone ?"),
    "coll.ask_date": ("Promised payment date (e.g. 15/12)?", "Date de paiement promise (ex. 15/12) ?"),
    "coll.ask_task": ("Which collection (R12)?", "Quel recouvrement (R12) ?"),
    "coll.call_logged": ("Call logged on {number}.", "Appel noté sur {number}."),
    "coll.promise_set": (
        "Promise noted: reminders for {number} pause until {date}.",
        "Promesse notée : les relances de {number} sont suspendues jusqu'au {date}.",
    ),
    "coll.disputed_set": (
        "Invoice {number} marked disputed: reminders stop until it is resolved.",
        "Facture {number} en litige : les relances s'arrêtent jusqu'à sa résolution.",
    ),
    "coll.resolved_set": (
        "Dispute on {number} resolved: reminders resume.",
        "Litige sur {number} résolu : les relances reprennent.",
    ),
    # Purchasing.
    "stock.none": ("No stock or need recorded yet.", "Aucun stock ni besoin enregistré."),
    "stock.row": (
        "<b>{sku}</b> {name}: on hand {on_hand}, reserved {reserved}, available {available}, "
        "incoming {incoming}, reorder at {reorder}",
        "<b>{sku}</b> {name} : en stock {on_hand}, réservé {reserved}, disponible {available}, "
        "attendu {incoming}, seuil {reorder}",
    ),
    "stock.adjusted": ("Stock of {sku} is now {on_hand}.", "Le stock de {sku} est maintenant de {on_hand}."),
    "po.none": ("No open purchase order.", "Aucune commande fournisseur en cours."),
    "po.row": ("<b>PO{id}</b> {supplier} — {status} — {lines} line(s)", "<b>PO{id}</b> {supplier} — {status} — {lines} ligne(s)"),
    "po.card": (
        "<b>Purchase order PO{id}</b>\nSupplier: {supplier}\nStatus: {status}",
        "<b>Commande fournisseur PO{id}</b>\nFournisseur : {supplier}\nStatut : {status}",
    ),
    "po.expected": ("Expected on {date}", "Attendue le {date}"),
    "po.line": ("• {sku} {name}: {received}/{quantity}", "• {sku} {name} : {received}/{quantity}"),
    "po.sent": (
        "PO{id} is queued for emailing to {supplier}, with the PDF attached.",
        "PO{id} part par e-mail chez {supplier}, avec le PDF en pièce jointe.",
    ),
    "po.cancelled": ("PO{id} cancelled.", "PO{id} annulée."),
    "po.received": ("Receipt recorded on PO{id}: now {status}.", "Réception enregistrée sur PO{id} : {status}."),
    "po.delivered": (
        "Deal D{id} delivered: the goods left the stock.",
        "Affaire D{id} livrée : la marchandise est sortie du stock.",
    ),
    "po.status.draft": ("draft", "brouillon"),
    "po.status.sent": ("sent", "envoyée"),
    "po.status.partial": ("partly received", "reçue en partie"),
    "po.status.received": ("received", "reçue"),
    "po.status.cancelled": ("cancelled", "annulée"),
    # Reports and status.
    "report.funnel": ("Sales funnel", "Entonnoir des ventes"),
    "report.forecast": ("Weighted forecast by month", "Prévision pondérée par mois"),
    "report.aging": ("Receivables aging", "Ancienneté des créances"),
    "report.cash": ("Expected cash by week", "Encaissements attendus par semaine"),
    "report.purchases": ("Purchases pending", "Achats en cours"),
    "report.count": ("Deals", "Affaires"),
    "report.value": ("Value", "Valeur"),
    "report.empty": ("(nothing yet)", "(rien pour l'instant)"),
    "report.no_open_deals": ("No open deals.", "Aucune affaire en cours."),
    "report.no_receivables": ("No invoice is waiting for payment.", "Aucune facture n'attend de paiement."),
    "report.no_cash_expected": (
        "No payment is expected in the coming weeks.",
        "Aucun encaissement n'est attendu dans les semaines à venir.",
    ),
    "report.no_purchases": ("No purchase order is pending.", "Aucune commande d'achat en cours."),
    "report.quantity_expected": ("Quantity still expected", "Quantité encore attendue"),
    "report.bucket.0": ("not due", "non échu"),
    "report.bucket.1": ("1–30 days late", "1 à 30 jours de retard"),
    "report.bucket.2": ("31–60 days late", "31 à 60 jours de retard"),
    "report.bucket.3": ("61–90 days late", "61 à 90 jours de retard"),
    "report.bucket.4": ("over 90 days late", "plus de 90 jours de retard"),
    "report.funnel.now": ("deals now: {count} · {value}", "affaires en cours : {count} · {value}"),
    "report.funnel.width": (
        "Width: deals that reached the stage; ↓ share that went on to the next one",
        "Largeur : affaires ayant atteint l'étape ; ↓ part passée à l'étape suivante",
    ),
    "report.funnel.lost": ("{stage}: {count} · {value}", "{stage} : {count} · {value}"),
    "report.dashboard": ("Your dashboard:", "Votre tableau de bord :"),
    "report.sent": ("{kind} report: {rows} row(s).", "Rapport {kind} : {rows} ligne(s)."),
    "status.title": ("<b>Background jobs</b>", "<b>Tâches de fond</b>"),
    "status.row": (
        "<b>{job}</b>: {outcome}, last run {at} ({ms} ms){detail}",
        "<b>{job}</b> : {outcome}, dernière exécution {at} ({ms} ms){detail}",
    ),
    "status.never": ("never", "jamais"),
    "status.none": ("No job has run yet.", "Aucune tâche n'a encore tourné."),
    # Errors.
    "error.collection": ("No collection task R{id} that you may see.", "Aucun recouvrement R{id} accessible."),
    "error.collection_closed": ("Collection R{id} is already closed.", "Le recouvrement R{id} est déjà clos."),
    "error.no_billing_email": (
        "{contact} has no billing email: add one before sending a reminder.",
        "{contact} n'a pas d'e-mail de facturation : ajoutez-en un avant de relancer.",
    ),
    "error.reminder_already_sent": (
        "A reminder for this invoice was already queued today.",
        "Une relance pour cette facture est déjà partie aujourd'hui.",
    ),
    "error.call_note": ("Please write what was said (at most 2000 characters).", "Écrivez ce qui a été dit (2000 caractères au plus)."),
    "error.promise_past": (
        "The promised date {date} is in the past: give today or a later date.",
        "La date promise {date} est passée : donnez aujourd'hui ou une date ultérieure.",
    ),
    "error.purchasing_only": (
        "Only purchasing and managers may do this.",
        "Seuls les achats et les responsables peuvent faire cela.",
    ),
    "error.stock_sku": ("No product with SKU “{sku}”.", "Aucun produit de référence « {sku} »."),
    "error.po": ("No purchase order PO{id}.", "Aucune commande fournisseur PO{id}."),
    "error.po_state": (
        "PO{id} is {status}: this is not possible in that state.",
        "PO{id} est à l'état {status} : ce n'est pas possible dans cet état.",
    ),
    "error.supplier_email": (
        "The supplier {name} has no email address: add one first.",
        "Le fournisseur {name} n'a pas d'adresse e-mail : ajoutez-en une d'abord.",
    ),
    "error.receive_nothing": ("Nothing left to receive on this order.", "Plus rien à recevoir sur cette commande."),
    "error.receive_sku": ("{sku} is not on PO{id}.", "{sku} ne figure pas sur PO{id}."),
    "error.receive_quantity": (
        "Cannot receive {quantity} of {sku}: {left} still expected.",
        "Impossible de recevoir {quantity} de {sku} : {left} encore attendu(s).",
    ),
    "error.negative_stock": (
        "Not enough {sku} in stock ({on_hand} on hand): stock cannot go negative.",
        "Pas assez de {sku} en stock ({on_hand}) : le stock ne peut pas devenir négatif.",
    ),
    "error.nothing_to_deliver": ("Deal D{id} has nothing reserved to deliver.", "L'affaire D{id} n'a rien de réservé à livrer."),
    "error.adjust_reason": ("Give a reason for the adjustment.", "Donnez un motif pour la correction."),
    "error.period": (
        "“{value}” is not a period: write 2026-11, 2026 or 30d.",
        "« {value} » n'est pas une période : écrivez 2026-11, 2026 ou 30j.",
    ),
    "error.report_kind": (
        "Unknown report “{value}”: choose sales, receivables or purchases.",
        "Rapport « {value} » inconnu : choisissez sales, receivables ou purchases.",
    ),
    "error.job": ("Unknown job “{name}”.", "Tâche « {name} » inconnue."),
}
