"""Messages shared by every area: access, start/help, forms, errors, menus."""

MESSAGES: dict[str, tuple[str, str]] = {
    "access.refused": (
        "Sorry, this bot is private. Ask your administrator for an invitation.",
        "Désolé, ce bot est privé. Demandez une invitation à votre administrateur.",
    ),
    "start.registered": (
        "Welcome {name}! You are registered as {role}. Type /help to see what I can do.",
        "Bienvenue {name} ! Vous êtes inscrit(e) comme {role}. Tapez /help pour voir ce que je sais faire.",
    ),
    "start.hello": ("Hello {name}! Type /help for the commands.", "Bonjour {name} ! Tapez /help pour les commandes."),
    "help.text": (
        "<b>Contacts</b>: /newcontact Name | phone | email | company · /contacts [text] · /contact C12 · /note C12 text · /billing C12 [field value]\n"
        "<b>Deals</b>: /newdeal C12 | title | amount · /deals [mine|all|stage] · /deal D34 · /move D34 stage · /won D34 · /lost D34 reason · /pipeline\n"
        "<b>Tasks</b>: /task D34 | text | due · /tasks\n"
        "<b>Products</b>: /products [text] · /newproduct SKU | name | price | VAT% | unit · /addline D34 | SKU | qty · /lines D34\n"
        "<b>Invoices</b>: /invoice D34 · /newinvoice C12 · /issue I7 · /send F2026-00042 · /invoices [draft|open|overdue|paid|refunds] · /invoicepdf F2026-00042 · /creditnote F2026-00042 reason · /refunded A2026-00001\n"
        "<b>Payments</b>: /payments [recent|unmatched|quarantine] · /match P12 F2026-00042 · /collections\n"
        "<b>Stock</b>: /stock [SKU] · /po [ID] · /receive PO7 [SKU qty …] · /adjust SKU qty reason · /deliver D34\n"
        "<b>Managers</b>: /dashboard · /report sales|receivables|purchases · /export contacts|deals|invoices|payments|all [csv] · send a CSV, XLSX or vCard file to import · /teamchat\n"
        "<b>Admin</b>: /users · /role USER ROLE · /deactivate USER · /invite ROLE · /status\n"
        "<b>Other</b>: /lang en|fr · /cancel\n"
        "Any command without arguments asks step by step.",
        "<b>Contacts</b> : /newcontact Nom | téléphone | e-mail | société · /contacts [texte] · /contact C12 · /note C12 texte · /billing C12 [champ valeur]\n"
        "<b>Affaires</b> : /newdeal C12 | titre | montant · /deals [mine|all|étape] · /deal D34 · /move D34 étape · /won D34 · /lost D34 raison · /pipeline\n"
        "<b>Tâches</b> : /task D34 | texte | échéance · /tasks\n"
        "<b>Produits</b> : /products [texte] · /newproduct SKU | nom | prix | TVA% | unité · /addline D34 | SKU | qté · /lines D34\n"
        "<b>Factures</b> : /invoice D34 · /newinvoice C12 · /issue I7 · /send F2026-00042 · /invoices [draft|open|overdue|paid|refunds] · /invoicepdf F2026-00042 · /creditnote F2026-00042 motif · /refunded A2026-00001\n"
        "<b>Paiements</b> : /payments [recent|unmatched|quarantine] · /match P12 F2026-00042 · /collections\n"
        "<b>Stock</b> : /stock [SKU] · /po [ID] · /receive PO7 [SKU qté …] · /adjust SKU qté motif · /deliver D34\n"
        "<b>Responsables</b> : /dashboard · /report sales|receivables|purchases · /export contacts|deals|invoices|payments|all [csv] · envoyez un fichier CSV, XLSX ou vCard pour l'importer · /teamchat\n"
        "<b>Admin</b> : /users · /role UTILISATEUR RÔLE · /deactivate UTILISATEUR · /invite RÔLE · /status\n"
        "<b>Divers</b> : /lang en|fr · /cancel\n"
        "Toute commande sans argument pose les questions une à une.",
    ),
    "list.prev": ("◀ Previous", "◀ Précédent"),
    "list.next": ("Next ▶", "Suivant ▶"),
    "list.page": ("<i>Page {page} of {pages}</i>", "<i>Page {page} sur {pages}</i>"),
    "list.truncated": (
        "Only the first {shown} of {total} are listed: narrow the search to see the others.",
        "Seuls les {shown} premiers sur {total} sont listés : affinez la recherche pour voir les autres.",
    ),
    "error.list_expired": (
        "This list has expired: send the command again.",
        "Cette liste a expiré : renvoyez la commande.",
    ),
    "group.private": (
        "Write to me in private: I answer that only in a private chat.",
        "Écrivez-moi en privé : je ne réponds à cela qu'en conversation privée.",
    ),
    "group.private_link": (
        "Write to me in private: {link}",
        "Écrivez-moi en privé : {link}",
    ),
    "group.open_private": ("Open the private chat", "Ouvrir la conversation privée"),
    "help.hint": ("Type /help to see the commands.", "Tapez /help pour voir les commandes."),
    "lang.set": ("I will speak English with you.", "Je vous parlerai en français."),
    "lang.ask": ("Which language?", "Quelle langue ?"),
    "lang.name_en": ("English", "English"),
    "lang.name_fr": ("Français", "Français"),
    "form.skip_hint": ("(optional: send - to skip)", "(facultatif : envoyez - pour passer)"),
    "form.cancel_hint": ("/cancel to stop.", "/cancel pour arrêter."),
    "form.cancelled": ("Cancelled. Nothing was saved.", "Annulé. Rien n'a été enregistré."),
    "form.nothing": ("There was nothing to cancel.", "Il n'y avait rien à annuler."),
    "menu.contacts": ("Search contacts", "Chercher des contacts"),
    "menu.newcontact": ("New contact", "Nouveau contact"),
    "menu.deals": ("My deals", "Mes affaires"),
    "menu.newdeal": ("New deal", "Nouvelle affaire"),
    "menu.pipeline": ("Sales funnel", "Entonnoir des ventes"),
    "menu.tasks": ("My tasks", "Mes tâches"),
    "menu.help": ("Help", "Aide"),
    "menu.lang": ("Language (en/fr)", "Langue (en/fr)"),
    "menu.collections": ("Overdue invoices to collect", "Factures en retard à recouvrer"),
    "menu.payments": ("Payments received", "Paiements reçus"),
    "menu.stock": ("Stock", "Stock"),
    "menu.dashboard": ("Charts for managers", "Graphiques pour les responsables"),
    "menu.cancel": ("Cancel the current step", "Annuler l'étape en cours"),
    # Errors: one sentence each, nothing was written.
    "error.unexpected": (
        "Sorry, something went wrong on our side. Nothing was changed; the administrators have been told.",
        "Désolé, un problème est survenu de notre côté. Rien n'a été modifié ; les administrateurs sont prévenus.",
    ),
    "error.reply_failed": (
        "Your change was saved, but I could not show the answer. Check it with the command again.",
        "Votre modification est enregistrée, mais je n'ai pas pu afficher la réponse. Vérifiez avec la commande.",
    ),
    "alert.handler_error": (
        "⚠️ Unexpected error in a chat handler: <code>{error}</code> ({count} times this hour). "
        "The details are in the log.",
        "⚠️ Erreur inattendue dans le chat : <code>{error}</code> ({count} fois cette heure-ci). "
        "Les détails sont dans le journal.",
    ),
    "error.amount": (
        "“{value}” is not an amount I understand: write it like 12 000,50 or 12,000.50 or 12000.5 or 12k.",
        "« {value} » n'est pas un montant compris : écrivez par exemple 12 000,50 ou 12,000.50 ou 12000.5 ou 12k.",
    ),
    "error.currency": (
        "“{value}” is not a supported currency: use a code such as EUR, USD, GBP or CHF.",
        "« {value} » n'est pas une devise prise en charge : utilisez un code comme EUR, USD, GBP ou CHF.",
    ),
    "error.quantity": (
        "“{value}” is not a quantity: write a positive number with at most three decimals, like 2 or 1,5.",
        "« {value} » n'est pas une quantité : écrivez un nombre positif d'au plus trois décimales, comme 2 ou 1,5.",
    ),
    "error.date": (
        "“{value}” is not a date I understand: write 25/12, 25/12/2026, 2026-12-25, tomorrow or +3d.",
        "« {value} » n'est pas une date comprise : écrivez 25/12, 25/12/2026, 2026-12-25, demain ou +3j.",
    ),
    "error.phone": (
        "“{value}” is not a valid phone number: write it like +33 6 12 34 56 78 or 06 12 34 56 78.",
        "« {value} » n'est pas un numéro valide : écrivez par exemple +33 6 12 34 56 78 ou 06 12 34 56 78.",
    ),
    "error.email": (
        "“{value}” is not a valid email address: write it like ann@example.com.",
        "« {value} » n'est pas une adresse e-mail valide : écrivez par exemple ann@example.com.",
    ),
    "error.name": ("A name is required (at most 200 characters).", "Un nom est requis (200 caractères au plus)."),
    "error.title": ("A title is required (at most 200 characters).", "Un titre est requis (200 caractères au plus)."),
    "error.empty": ("Please send a value, or /cancel.", "Envoyez une valeur, ou /cancel."),
    "error.too_long": (
        "That is too long: at most {max} characters here (you sent {length}). Nothing was saved.",
        "C'est trop long : {max} caractères au plus ici (vous en avez envoyé {length}). Rien n'a été enregistré.",
    ),
    "error.invisible_name": (
        "A name needs at least one visible letter, digit or sign.",
        "Un nom doit contenir au moins une lettre, un chiffre ou un signe visible.",
    ),
    "error.record": ("No record {value}.", "Aucun enregistrement {value}."),
    "error.identifier": (
        "“{value}” is not a valid reference: write it like {prefix}12.",
        "« {value} » n'est pas une référence valide : écrivez par exemple {prefix}12.",
    ),
    "error.usage": ("Usage: {usage}", "Utilisation : {usage}"),
    "error.too_many_fields": (
        "Too many fields: at most {maximum}, separated by |.",
        "Trop de champs : au plus {maximum}, séparés par |.",
    ),
    "error.callback": ("This button is no longer valid.", "Ce bouton n'est plus valide."),
    "error.expired": ("This choice has expired; please start again.", "Ce choix a expiré ; recommencez."),
    "error.unknown_command": ("I don't know this command. Type /help.", "Je ne connais pas cette commande. Tapez /help."),
    "error.invite": (
        "This invitation code is not valid (unknown, already used or expired).",
        "Ce code d'invitation n'est pas valide (inconnu, déjà utilisé ou expiré).",
    ),
    "error.already_registered": ("You are already registered.", "Vous êtes déjà inscrit(e)."),
    "error.language": ("Choose en or fr.", "Choisissez en ou fr."),
    "error.role": ("“{value}” is not a role: choose one of {choices}.", "« {value} » n'est pas un rôle : choisissez parmi {choices}."),
    "error.user": ("No user “{value}”.", "Aucun utilisateur « {value} »."),
    "error.user_exists": ("A user named {name} already exists.", "Un utilisateur nommé {name} existe déjà."),
    "error.telegram_taken": ("Telegram id {telegram_id} is already registered.", "L'identifiant Telegram {telegram_id} est déjà inscrit."),
    "error.admin_only": ("Only administrators may do this.", "Seuls les administrateurs peuvent faire cela."),
    "error.manager_only": ("Only managers may do this.", "Seuls les responsables peuvent faire cela."),
    "error.last_admin": ("The last active administrator must stay an administrator.", "Le dernier administrateur actif doit le rester."),
    "error.no_stages": ("The funnel has no stages.", "L'entonnoir n'a aucune étape."),
}
