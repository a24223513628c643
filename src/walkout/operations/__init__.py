"""Store operations over the walkout database: what happens around the shelves.

Accounts and payment methods (behind a payment-provider interface; the built-in provider is a
ledger in the database), checkout (finalize the receipt, charge it once with an idempotency key,
e-mail it), disputes, review decisions, inventory reports and privacy (retention purge, account
erasure). Every function takes the :class:`~walkout.engine.db.Database` and runs its own
transactions through :meth:`~walkout.engine.db.Database.transaction`; the engine loop itself
never imports this package (it sits beside the engine, below the service).
"""
