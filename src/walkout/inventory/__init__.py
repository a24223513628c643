"""walkout.inventory."""
