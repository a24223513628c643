"""Fusion: which product(s) and how many (weight + live planogram), and which shopper (hands)."""

from walkout.fusion.product import Hypothesis, ProductParams, identify_products
from walkout.fusion.shopper import ShopperParams, attribute_shopper

__all__ = ["Hypothesis", "ProductParams", "ShopperParams", "attribute_shopper", "identify_products"]
