"""The curated public API of walkout.eval."""

from __future__ import annotations

import inspect

import walkout.eval


def test_all_matches_public_names():
    public = {n for n in dir(walkout.eval) if not n.startswith("_") and not inspect.ismodule(getattr(walkout.eval, n))}
    assert sorted(walkout.eval.__all__) == sorted(public)
    assert walkout.eval.__all__ == sorted(walkout.eval.__all__)
