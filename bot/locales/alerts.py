"""Messages of the effects area: email outcomes, job failures, rerouted alerts, team chat."""

MESSAGES: dict[str, tuple[str, str]] = {
    "alert.email_sent": (
        "📧 Email sent to {to}: <i>{subject}</i>",
        "📧 E-mail envoyé à {to} : <i>{subject}</i>",
    ),
    "alert.email_failed": (
        "⚠️ The email to {to} (<i>{subject}</i>) could not be delivered. The server said: {error}",
        "⚠️ L'e-mail à {to} (<i>{subject}</i>) n'a pas pu être remis. Le serveur a répondu : {error}",
    ),
    "alert.job_failed": (
        "⚠️ Background job <b>{job}</b> failed: {error}\nIt will be tried again on its next run.",
        "⚠️ La tâche de fond <b>{job}</b> a échoué : {error}\nElle sera relancée à son prochain passage.",
    ),
    "alert.rerouted": (
        "↪️ For {name}, who cannot be reached in Telegram:",
        "↪️ Pour {name}, injoignable sur Telegram :",
    ),
    "alert.unknown": (
        "Notification “{kind}”: {details}",
        "Notification « {kind} » : {details}",
    ),
    "teamchat.set": (
        "This group now receives the team's alerts.",
        "Ce groupe reçoit désormais les alertes de l'équipe.",
    ),
    "teamchat.cleared": (
        "This group no longer receives the team's alerts.",
        "Ce groupe ne reçoit plus les alertes de l'équipe.",
    ),
    "teamchat.private": (
        "Send /teamchat in the team's group chat (add me to the group first).",
        "Envoyez /teamchat dans le groupe de l'équipe (ajoutez-moi d'abord au groupe).",
    ),
    "menu.teamchat": ("Use this group for team alerts", "Utiliser ce groupe pour les alertes d'équipe"),
    "error.team_chat": (
        "Only a manager can choose the team chat.",
        "Seul un responsable peut choisir le groupe de l'équipe.",
    ),
}
