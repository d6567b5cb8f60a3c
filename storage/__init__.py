"""The service's own records (agents' feedback, the query log), append-only: below the report and the server,
which both read them."""
