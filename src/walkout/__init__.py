"""walkout: an open-source "Just Walk Out" engine.

The pipeline, in the order data flows (see ``docs/architecture.md``)::

    core        frozen value types (store layout, products, planogram, sensor batches)
    io          recordings and store files on disk -> core types
    perception  plate samples -> settled weight changes
    events      weight changes -> shelf events (pick / put-back); gate events
    fusion      which product, which shopper
    inventory   live planogram, misplaced items, stock
    carts       sessions, carts, receipts
    engine      the stateful loop wiring the layers, plus storage (SQLAlchemy)
    sim         the simulated store (never imported by the engine layers)
    eval        scoring against ground truth (never imported by the engine layers)
"""

from walkout.core.errors import WalkoutError

__version__ = "0.1.0"

__all__ = ["WalkoutError", "__version__"]
