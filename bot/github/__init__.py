"""GitHub side of the CI relay: the webhook endpoint, the REST client, the ledger."""
