"""The chat face of Entonnoir: Telegram (or the local console) to use-cases in `storage`."""
