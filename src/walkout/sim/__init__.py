"""walkout.sim."""
