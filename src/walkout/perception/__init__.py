"""walkout.perception."""
