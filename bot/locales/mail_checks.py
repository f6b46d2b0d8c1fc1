"""Why a bank email was not trusted (`trust.<code>`) or not read (`mailparse.<code>`).

Codes come from `mail.trust.TrustVerdict.code` and `mail.parsers.Problem.code`; params:
`domain` (the From domain), `part` (the attachment) where relevant.
"""

MESSAGES: dict[str, tuple[str, str]] = {
    "trust.dkim_pass": ("DKIM signature of {domain} verified.", "Signature DKIM de {domain} vérifiée."),
    "trust.ar_pass": (
        "Our mail server authenticated {domain}.",
        "Notre serveur de messagerie a authentifié {domain}.",
    ),
    "trust.no_from": (
        "The message has no single sender address.",
        "Le message n'a pas une adresse d'expéditeur unique.",
    ),
    "trust.not_allowed": (
        "{domain} is not on the list of banks allowed to report payments.",
        "{domain} n'est pas dans la liste des banques autorisées à signaler des paiements.",
    ),
    "trust.no_authentication": (
        "Possibly forged: nothing proves the message comes from {domain}.",
        "Peut-être falsifié : rien ne prouve que le message vient de {domain}.",
    ),
    "trust.dkim_bad_signature": (
        "Possibly forged: the DKIM signature does not verify (altered message or wrong key).",
        "Peut-être falsifié : la signature DKIM ne se vérifie pas (message modifié ou mauvaise clé).",
    ),
    "trust.dkim_wrong_domain": (
        "Possibly forged: the message is signed, but by another domain than {domain}.",
        "Peut-être falsifié : le message est signé, mais par un autre domaine que {domain}.",
    ),
    "trust.dkim_partial": (
        "Possibly forged: the signature covers only part of the message.",
        "Peut-être falsifié : la signature ne couvre qu'une partie du message.",
    ),
    "trust.dkim_error": (
        "The message cannot be checked: it is malformed.",
        "Le message ne peut pas être vérifié : il est mal formé.",
    ),
    "trust.ar_fail": (
        "Possibly forged: our mail server could not authenticate {domain}.",
        "Peut-être falsifié : notre serveur de messagerie n'a pas pu authentifier {domain}.",
    ),
    "trust.ar_forged": (
        "Forged: an authentication result claiming to come from our mail server was written "
        "inside the message by its sender.",
        "Falsifié : un résultat d'authentification se réclamant de notre serveur de messagerie "
        "a été écrit dans le message par son expéditeur.",
    ),
    "inbox.too_large": (
        "The message is too large ({size} MB, limit {limit} MB).",
        "Le message est trop volumineux ({size} Mo, limite {limit} Mo).",
    ),
    "inbox.foreign_account": (
        "Statement for another account than ours: {account}.",
        "Relevé d'un autre compte que le nôtre : {account}.",
    ),
    "inbox.nothing": (
        "Nothing recognisable: no camt/MT940 attachment and no known bank text.",
        "Rien de reconnaissable : ni pièce jointe camt/MT940, ni texte de banque connu.",
    ),
    "inbox.no_booked_entry": (
        "The statement has no booked entry.",
        "Le relevé ne contient aucune écriture comptabilisée.",
    ),
    "inbox.check_failed": (
        "The sender could not be checked (internal error): kept aside.",
        "L'expéditeur n'a pas pu être vérifié (erreur interne) : mis de côté.",
    ),
    "inbox.unreadable": (
        "The message could not be read (internal error).",
        "Le message n'a pas pu être lu (erreur interne).",
    ),
    "inbox.more": (
        "(full text: /payments quarantine)",
        "(texte complet : /payments quarantine)",
    ),
    "held.no_account": (
        "The message names no account: left for a person.",
        "Le message ne nomme aucun compte : laissé à une personne.",
    ),
    "held.reversed_debit": (
        "Money coming back from a reversed debit ({code}): left for a person.",
        "Argent revenu d'un prélèvement contrepassé ({code}) : laissé à une personne.",
    ),
    "held.return_unmatched": (
        "A returned payment ({code}) tied to no invoice: choose the invoice it takes back.",
        "Un paiement retourné ({code}) rattaché à aucune facture : choisissez la facture "
        "concernée.",
    ),
    "mailparse.too_large": (
        "Attachment {part} refused: too large.",
        "Pièce jointe {part} refusée : trop volumineuse.",
    ),
    "mailparse.xml_dtd": (
        "Attachment {part} refused: XML with a DTD (possible attack).",
        "Pièce jointe {part} refusée : XML avec une DTD (attaque possible).",
    ),
    "mailparse.xml_entities": (
        "Attachment {part} refused: XML declaring entities (possible attack).",
        "Pièce jointe {part} refusée : XML déclarant des entités (attaque possible).",
    ),
    "mailparse.xml_external": (
        "Attachment {part} refused: XML pointing to external files (possible attack).",
        "Pièce jointe {part} refusée : XML pointant vers des fichiers externes (attaque possible).",
    ),
    "mailparse.unsafe": (
        "Attachment {part} refused: unsafe content.",
        "Pièce jointe {part} refusée : contenu dangereux.",
    ),
    "mailparse.zip_bomb": (
        "Attachment {part} refused: suspicious archive.",
        "Pièce jointe {part} refusée : archive suspecte.",
    ),
    "mailparse.bad_zip": (
        "Attachment {part} is not a readable zip archive.",
        "La pièce jointe {part} n'est pas une archive zip lisible.",
    ),
    "mailparse.bad_xml": (
        "Attachment {part} is not well-formed XML.",
        "La pièce jointe {part} n'est pas un XML bien formé.",
    ),
    "mailparse.not_camt": (
        "Attachment {part} is XML but not a camt.053/054 bank statement.",
        "La pièce jointe {part} est du XML mais pas un relevé bancaire camt.053/054.",
    ),
    "mailparse.bad_camt": (
        "Attachment {part} is a camt file with invalid content.",
        "La pièce jointe {part} est un fichier camt au contenu invalide.",
    ),
    "mailparse.bad_mt940": (
        "Attachment {part} is an unreadable MT940 statement.",
        "La pièce jointe {part} est un relevé MT940 illisible.",
    ),
    "mailparse.unknown_format": (
        "Attachment {part} refused: not a bank statement format Entonnoir reads (camt, MT940).",
        "Pièce jointe {part} refusée : pas un format de relevé lu par Entonnoir (camt, MT940).",
    ),
    "mailparse.malformed": (
        "Attachment {part} could not be read.",
        "La pièce jointe {part} n'a pas pu être lue.",
    ),
    # Return reasons (ISO 20022 external return reason codes) and the MT940 storno mark.
    "return_reason.AC01": ("the account number is wrong (AC01)", "numéro de compte erroné (AC01)"),
    "return_reason.AC04": ("the account is closed (AC04)", "compte clôturé (AC04)"),
    "return_reason.AC06": ("the account is blocked (AC06)", "compte bloqué (AC06)"),
    "return_reason.AG01": ("transaction forbidden on this account (AG01)",
                           "opération interdite sur ce compte (AG01)"),
    "return_reason.AM04": ("insufficient funds (AM04)", "provision insuffisante (AM04)"),
    "return_reason.AM05": ("duplicate payment (AM05)", "paiement en double (AM05)"),
    "return_reason.BE04": ("the creditor's address is missing (BE04)",
                           "adresse du créancier manquante (BE04)"),
    "return_reason.MD01": ("no mandate (MD01)", "pas de mandat (MD01)"),
    "return_reason.MD06": ("refund requested by the payer (MD06)",
                           "remboursement demandé par le payeur (MD06)"),
    "return_reason.MS02": ("refused by the payer (MS02)", "refusé par le payeur (MS02)"),
    "return_reason.MS03": ("reason not given by the bank (MS03)",
                           "motif non précisé par la banque (MS03)"),
    "return_reason.RC01": ("the bank identifier is wrong (RC01)",
                           "identifiant de banque erroné (RC01)"),
    "return_reason.FOCR": ("returned after a recall request (FOCR)",
                           "retourné après une demande de rappel (FOCR)"),
    "return_reason.RR04": ("regulatory reason (RR04)", "motif réglementaire (RR04)"),
    "return_reason.SL01": ("specific service of the payer's bank (SL01)",
                           "service spécifique de la banque du payeur (SL01)"),
    "return_reason.RV": ("reversed by the bank (storno)", "contrepassé par la banque (storno)"),
    "return_reason.RRTN": ("payment returned", "paiement retourné"),
    "return_reason.RTN": ("payment returned", "paiement retourné"),
    "return_reason.none": ("no reason given", "aucun motif donné"),
    "return_reason.other": ("reason code {code}", "code motif {code}"),
}
