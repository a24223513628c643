"""Perception: plate samples -> settled weight changes (weight/); tracker or camera data -> people (people/)."""
