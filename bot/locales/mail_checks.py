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
    "mailparse.malformed": (
        "Attachment {part} could not be read.",
        "La pièce jointe {part} n'a pas pu être lue.",
    ),
}
