"""One handler module per area; each exposes `register(app)`. Modules are discovered."""
