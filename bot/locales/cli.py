"""Command-line wording: where a chat message names a button or says "send the file", the
CLI says which option to pass. `cli.error.<code>` overrides `error.<code>` on the command line
(see `bot.cli.cli_text`); the CLI's own failures are `cli.*`."""

MESSAGES = {
    "cli.error.import_rejected": (
        "{count} row(s) are rejected (rows {rows}): fix them, or run again with --only-valid "
        "to skip them (--dry-run lists them). Nothing was written.",
        "{count} ligne(s) rejetée(s) (lignes {rows}) : corrigez-les, ou relancez avec "
        "--only-valid pour les ignorer (--dry-run les liste). Rien n'a été écrit.",
    ),
    "cli.error.import_too_large": (
        "The file is over {max_mb} MB: split it and import the parts one by one.",
        "Le fichier dépasse {max_mb} Mo : découpez-le et importez les parties une à une.",
    ),
    "cli.error.import_extension": (
        "Give a .csv, .xlsx or .vcf file; nothing was imported.",
        "Donnez un fichier .csv, .xlsx ou .vcf ; rien n'a été importé.",
    ),
    "cli.error.import_quoting": (
        "Broken quotes at row {row}: fix that row and run the import again; nothing was imported.",
        "Guillemets cassés à la ligne {row} : corrigez cette ligne et relancez l'import ; "
        "rien n'a été importé.",
    ),
    "error.cli_no_admin": (
        "There is no active admin to act as: name a user with --as USER, or register an admin "
        "with `entonnoir user add --telegram-id N --name NAME --role admin`.",
        "Il n'y a aucun administrateur actif au nom de qui agir : nommez un utilisateur avec "
        "--as UTILISATEUR, ou enregistrez un administrateur avec "
        "`entonnoir user add --telegram-id N --name NOM --role admin`.",
    ),
    "cli.file": (
        "cannot use {path}: {reason}.",
        "impossible d'utiliser {path} : {reason}.",
    ),
    "cli.database": (
        "the database {url} cannot be used ({reason}): check DATABASE_URL, and that the "
        "server is running and reachable.",
        "la base de données {url} est inutilisable ({reason}) : vérifiez DATABASE_URL, et que "
        "le serveur tourne et répond.",
    ),
    "cli.database_file": (
        "the database {url} cannot be used ({reason}): check DATABASE_URL.",
        "la base de données {url} est inutilisable ({reason}) : vérifiez DATABASE_URL.",
    ),
    "cli.unexpected": (
        "unexpected error ({reason}); run again with -v to see where it happened.",
        "erreur inattendue ({reason}) ; relancez avec -v pour voir où elle s'est produite.",
    ),
    "cli.usage": (
        "{message} (see `{prog} --help`).",
        "{message} (voir `{prog} --help`).",
    ),
}
