"""The company's approved e-invoicing platform (PA): its API client (AFNOR XP Z12-013),
CDAR status documents, incoming invoice parsing and the worker that moves the queues."""
