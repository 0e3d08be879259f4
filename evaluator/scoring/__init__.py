"""Scoring a round: the engine, grading and tier placement, ranking, lists, results."""
