"""Delivering nudges: the sweep's lease, and settling what a dead or doubtful send left behind."""
