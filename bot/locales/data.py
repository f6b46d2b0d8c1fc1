"""Messages of import, export and backup."""

MESSAGES: dict[str, tuple[str, str]] = {
    "import.summary": (
        "<b>Import of {kind}</b> ({name}): {rows} row(s) read.\n"
        "Dry run: <b>{new}</b> new, <b>{merged}</b> merged, <b>{rejected}</b> rejected.",
        "<b>Import de {kind}</b> ({name}) : {rows} ligne(s) lues.\n"
        "Simulation : <b>{new}</b> nouveau(x), <b>{merged}</b> fusionné(s), <b>{rejected}</b> rejeté(s).",
    ),
    "import.mapping": ("<b>Columns</b>", "<b>Colonnes</b>"),
    "import.column": ("{letter}. {header} → {field}", "{letter}. {header} → {field}"),
    "import.ignored": ("(ignored)", "(ignorée)"),
    "import.rejections": ("<b>Rejected rows</b>", "<b>Lignes rejetées</b>"),
    "import.rejection": ("Row {row}: {reason}", "Ligne {row} : {reason}"),
    "import.more": ("… and {count} more.", "… et {count} de plus."),
    "import.btn_confirm": ("✅ Confirm", "✅ Confirmer"),
    "import.btn_valid": ("Only valid rows", "Seulement les lignes valides"),
    "import.btn_mapping": ("Change mapping", "Modifier les colonnes"),
    "import.btn_cancel": ("Cancel", "Annuler"),
    "import.ask_mapping": (
        "Send the new mapping as column=field, e.g. <code>B=phone, C=-</code> (- ignores a column).\n"
        "Fields: {fields}",
        "Envoyez les colonnes sous la forme colonne=champ, ex. <code>B=phone, C=-</code> (- ignore une colonne).\n"
        "Champs : {fields}",
    ),
    "import.ask_mapping_short": ("New mapping?", "Nouvelles colonnes ?"),
    "import.progress": ("Importing… {percent}%", "Import en cours… {percent} %"),
    "import.done": (
        "Import finished: {new} new, {merged} merged, {skipped} row(s) skipped.",
        "Import terminé : {new} nouveau(x), {merged} fusionné(s), {skipped} ligne(s) ignorée(s).",
    ),
    "import.cancelled": ("Import cancelled. Nothing was written.", "Import annulé. Rien n'a été écrit."),
    "import.kind.contacts": ("contacts", "contacts"),
    "import.kind.deals": ("deals", "affaires"),
    "import.kind.products": ("products", "produits"),
    "export.caption": ("Export of {what}.", "Export : {what}."),
    "menu.export": ("Export to a spreadsheet", "Exporter vers un tableur"),
    "error.import_bomb": (
        "This spreadsheet unpacks to far more than it weighs (a compressed bomb?): it was refused. "
        "Save it again from your spreadsheet program, or as CSV.",
        "Ce tableur se décompresse en bien plus que son poids (une bombe de compression ?) : il est refusé. "
        "Enregistrez-le à nouveau depuis votre tableur, ou en CSV.",
    ),
    "error.import_too_many_rows": (
        "The file has more than {max} rows: split it and send the parts.",
        "Le fichier a plus de {max} lignes : découpez-le et envoyez les parties.",
    ),
    "error.import_too_many_columns": (
        "The file has more than {max} columns: keep the ones to import and send it again.",
        "Le fichier a plus de {max} colonnes : gardez celles à importer et renvoyez-le.",
    ),
    "error.import_too_slow": (
        "Reading the file took more than {seconds} seconds: split it and send the parts.",
        "La lecture du fichier a pris plus de {seconds} secondes : découpez-le et envoyez les parties.",
    ),
    "error.import_too_large": (
        "The file is over {max_mb} MB: split it and send the parts.",
        "Le fichier dépasse {max_mb} Mo : découpez-le et envoyez les parties.",
    ),
    "error.import_card_too_large": (
        "The card starting on line {row} is over {max_kb} KB (a large photo?): export the contacts "
        "without photos and send the file again. Nothing was imported.",
        "La fiche qui commence ligne {row} dépasse {max_kb} Ko (une grande photo ?) : exportez les "
        "contacts sans photos et renvoyez le fichier. Rien n'a été importé.",
    ),
    "error.import_empty": ("The file is empty: nothing to import.", "Le fichier est vide : rien à importer."),
    "error.import_extension": (
        "Send a .csv, .xlsx or .vcf file; nothing was imported.",
        "Envoyez un fichier .csv, .xlsx ou .vcf ; rien n'a été importé.",
    ),
    "error.import_type": (
        "This file is not a real {expected} file, whatever its name says; nothing was imported.",
        "Ce fichier n'est pas un vrai fichier {expected}, quoi qu'en dise son nom ; rien n'a été importé.",
    ),
    "error.import_format": (
        "I import .csv, .xlsx and .vcf files only, not “{name}”.",
        "J'importe seulement des fichiers .csv, .xlsx et .vcf, pas « {name} ».",
    ),
    "error.import_no_header": (
        "I found no recognisable header (such as Name, Phone, Email, Amount, Stage, SKU): nothing was imported.",
        "Je n'ai trouvé aucun en-tête reconnaissable (comme Nom, Téléphone, E-mail, Montant, Étape, Référence) : rien n'a été importé.",
    ),
    "error.import_quoting": (
        "Broken quotes at row {row}: fix that row and send the file again; nothing was imported.",
        "Guillemets cassés à la ligne {row} : corrigez cette ligne et renvoyez le fichier ; rien n'a été importé.",
    ),
    "error.import_rejected": (
        "{count} row(s) are rejected (rows {rows}): fix them, or choose “Only valid rows”. Nothing was written.",
        "{count} ligne(s) rejetée(s) (lignes {rows}) : corrigez-les, ou choisissez « Seulement les lignes valides ». Rien n'a été écrit.",
    ),
    "error.import_kind": (
        "“{value}” cannot be imported: choose contacts, deals or products.",
        "« {value} » ne peut pas être importé : choisissez contacts, deals ou products.",
    ),
    "error.export_managers": (
        "Only managers and admins may export spreadsheets.",
        "Seuls les responsables et les administrateurs peuvent exporter des tableaux.",
    ),
    "error.import_managers": (
        "Only managers may import files.", "Seuls les responsables peuvent importer des fichiers."
    ),
    "error.import_contact": (
        "no contact “{value}”: import the contacts first.",
        "aucun contact « {value} » : importez d'abord les contacts.",
    ),
    "error.import_sku": ("a product reference (SKU) is required, at most 64 characters.",
                         "une référence produit est requise, 64 caractères au plus."),
    "error.import_vat": ("“{value}” is not a VAT rate (write 20, 5,5 or 20 %).",
                         "« {value} » n'est pas un taux de TVA (écrivez 20, 5,5 ou 20 %)."),
    "error.import_column": ("There is no column “{value}” in this file.", "Il n'y a pas de colonne « {value} » dans ce fichier."),
    "error.import_mapping": (
        "Write the mapping as column=field, e.g. B=phone, C=- (fields: {fields}).",
        "Écrivez les colonnes sous la forme colonne=champ, ex. B=phone, C=- (champs : {fields}).",
    ),
    "error.import_field": ("“{value}” is not a field: choose one of {fields}.", "« {value} » n'est pas un champ : choisissez parmi {fields}."),
    "error.import_expired": (
        "This import has expired or was already done; send the file again.",
        "Cet import a expiré ou a déjà été fait ; renvoyez le fichier.",
    ),
    "error.export_table": ("“{value}” cannot be exported: choose one of {choices}.", "« {value} » ne peut pas être exporté : choisissez parmi {choices}."),
    "error.backup_memory": ("An in-memory database cannot be backed up.", "Une base en mémoire ne peut pas être sauvegardée."),
    "error.backup_engine": ("Backups support SQLite and PostgreSQL, not “{value}”.", "Les sauvegardes gèrent SQLite et PostgreSQL, pas « {value} »."),
    "error.backup_tool": ("{tool} is not installed (apt-get install postgresql-client).", "{tool} n'est pas installé (apt-get install postgresql-client)."),
    "error.backup_missing": ("No such file: {path}.", "Fichier introuvable : {path}."),
    "error.backup_failed": ("{tool} failed: {detail}", "{tool} a échoué : {detail}"),
    "error.restore_bad_file": ("{path} is not a database snapshot.", "{path} n'est pas une sauvegarde de base de données."),
    "error.restore_not_empty": (
        "The database {database} already holds data: restore only into an empty database.",
        "La base {database} contient déjà des données : restaurez seulement dans une base vide.",
    ),
}
