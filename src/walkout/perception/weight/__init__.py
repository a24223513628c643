"""walkout.perception.weight."""
