"""Evaluation: joins engine output with ground truth (AutoCheckout scoring, event P/R, reports)."""
