"""Messages of VAT categories, buyer references, invoicing periods, discounts and the
billing email offer."""

MESSAGES: dict[str, tuple[str, str]] = {
    # Draft card additions
    "details.vat_category": ("VAT {category}: {reason}", "TVA {category} : {reason}"),
    "details.references": ("Your order no. {po} · your reference {ref}",
                           "Votre commande n° {po} · votre référence {ref}"),
    "details.period": ("Invoicing period: {start} to {end}",
                       "Période de facturation : du {start} au {end}"),
    "details.discount": ("Overall discount {amount}: {reason}", "Remise globale {amount} : {reason}"),
    "details.line_discount": ("Line {n}: discount {amount} ({reason})", "Ligne {n} : remise {amount} ({reason})"),
    "details.none": ("—", "—"),
    "details.hint": ("<i>/invoiceref I{id} PO-4471 · /period I{id} 01/11 30/11 · "
                     "/discount I{id} 5% reason · /linediscount I{id} 1 10% reason</i>",
                     "<i>/invoiceref I{id} PO-4471 · /period I{id} 01/11 30/11 · "
                     "/discount I{id} 5% motif · /linediscount I{id} 1 10% motif</i>"),
    # /invoiceref
    "invref.saved": ("References of I{id}: your order no. {po} · your reference {ref}",
                     "Références de I{id} : votre commande n° {po} · votre référence {ref}"),
    "invref.btn_buyer": ("✎ Buyer reference", "✎ Référence acheteur"),
    "invref.ask_buyer": ("The buyer reference the client asked to see on its invoices (its "
                         "service or cost centre), at most 100 characters:",
                         "La référence acheteur que le client demande sur ses factures (son "
                         "service ou centre de coût), 100 caractères au plus :"),
    # /period, /discount, /linediscount
    "period.saved": ("Invoicing period of I{id}: {start} to {end}.",
                     "Période de facturation de I{id} : du {start} au {end}."),
    "period.cleared": ("I{id} has no invoicing period any more.",
                       "I{id} n'a plus de période de facturation."),
    "discount.saved": ("Overall discount of I{id}: {amount} ({reason}). Total {gross}.",
                       "Remise globale de I{id} : {amount} ({reason}). Total TTC {gross}."),
    "discount.cleared": ("I{id} has no overall discount any more. Total {gross}.",
                         "I{id} n'a plus de remise globale. Total TTC {gross}."),
    "discount.line_saved": ("Line {n} of I{id}: discount {amount}, net {net}.",
                            "Ligne {n} de I{id} : remise {amount}, net {net}."),
    # Billing card and the billing email offer
    "billing.shown": ("<b>Billing data of C{id} {name}</b>",
                      "<b>Données de facturation de C{id} {name}</b>"),
    "billing.more": ("Country: {country}\nDelivery address: {delivery}",
                     "Pays : {country}\nAdresse de livraison : {delivery}"),
    "billing.offer": ("C{id} {name} has no billing email. Bill at {email}?",
                      "C{id} {name} n'a pas d'e-mail de facturation. Facturer à {email} ?"),
    "billing.btn_offer": ("✔ Bill at this address", "✔ Facturer à cette adresse"),
    "billing.adopted": ("Billing email of C{id} {name}: {email}.",
                        "E-mail de facturation de C{id} {name} : {email}."),
    # Errors
    "error.invoice_needs_vat_goods": (
        "This is an intra-community supply of goods (client in {country}): it is VAT exempt "
        "only with the client's VAT number. Add it with /billing {contact} vat NUMBER.",
        "C'est une livraison intracommunautaire (client en {country}) : elle n'est exonérée "
        "qu'avec le numéro de TVA du client. Ajoutez-le avec /billing {contact} vat NUMÉRO."),
    "error.invoice_needs_vat_services": (
        "Services to a business in {country} are reverse charged only with the client's VAT "
        "number. Add it with /billing {contact} vat NUMBER.",
        "Une prestation à une entreprise en {country} n'est autoliquidée qu'avec le numéro de "
        "TVA du client. Ajoutez-le avec /billing {contact} vat NUMÉRO."),
    "error.invoice_needs_seller_vat": (
        "An exempt EU or export invoice must show our own VAT number: set COMPANY_VAT.",
        "Une facture exonérée (UE ou export) doit porter notre numéro de TVA : renseignez COMPANY_VAT."),
    "error.invoice_outside_scope_mixed": (
        "Lines outside the scope of VAT go on an invoice of their own.",
        "Les lignes hors du champ de la TVA font l'objet d'une facture à part."),
    "error.invoice_mixed_exemptions": (
        "Lines of category {category} with different exemption reasons go on separate invoices.",
        "Des lignes de catégorie {category} aux motifs d'exonération différents vont sur des factures distinctes."),
    "error.vat_country": ("The VAT number “{value}” is not one of {country}.",
                          "Le numéro de TVA « {value} » n'est pas de {country}."),
    "error.country": ("“{value}” is not a country code: write two letters, e.g. FR, DE, US.",
                      "« {value} » n'est pas un code pays : deux lettres, par ex. FR, DE, US."),
    "error.vat_exemption": ("“{value}” is not an exemption we can print: {choices}.",
                            "« {value} » n'est pas une exonération connue : {choices}."),
    "error.nature": ("“{value}” is not a nature: goods or services.",
                     "« {value} » n'est pas une nature : biens ou services."),
    "error.discount": ("“{value}” is not a discount: write 10% or an amount such as 25,00.",
                       "« {value} » n'est pas une remise : écrivez 10% ou un montant comme 25,00."),
    "error.discount_reason": ("Say why the discount is granted (it is printed on the invoice).",
                              "Indiquez le motif de la remise (il figure sur la facture)."),
    "error.discount_too_large": ("A discount cannot exceed what it is taken from.",
                                 "Une remise ne peut dépasser le montant dont elle est déduite."),
    "error.invoice_period": ("An invoicing period is two dates, the end not before the start (at most 5 years).",
                     "Une période de facturation, ce sont deux dates, la fin après le début (5 ans au plus)."),
    "error.purchase_order": ("“{value}” is not an order number: at most 100 printable characters.",
                             "« {value} » n'est pas un numéro de commande : 100 caractères imprimables au plus."),
    "error.buyer_reference": ("“{value}” is not a buyer reference: at most 100 printable characters.",
                              "« {value} » n'est pas une référence acheteur : 100 caractères imprimables au plus."),
    "error.no_billing_email_offer": ("{contact} has no email to offer: /billing {contact} email ADDRESS.",
                                     "{contact} n'a pas d'e-mail à proposer : /billing {contact} email ADRESSE."),
}
