"""walkout.fusion."""
