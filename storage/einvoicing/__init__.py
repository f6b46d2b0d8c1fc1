"""French e-invoicing through the company's approved platform (PA).

- `statuses`  the CDAR life-cycle table and the pure "current status" rule
- `routing`   which invoices go through the PA (pure)
- `queue`     the durable queue of flows to submit (rows first, claims, backoff)
- `lifecycle` statuses of our invoices (received and sent), alerts, disputes, 212 on payment
- `inbound`   flows heard of by webhook or polling, as rows
- `suppliers` supplier invoices: three-way match, decisions sent back as statuses
"""
