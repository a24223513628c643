"""Sessions, carts and receipts (pure domain logic; persistence lives in walkout.engine.db)."""

from walkout.carts.cart import Cart, apply_line
from walkout.carts.receipt import Receipt, ReceiptLine, make_receipt

__all__ = ["Cart", "Receipt", "ReceiptLine", "apply_line", "make_receipt"]
