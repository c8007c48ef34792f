"""Data sets: the deterministic MovieLens-shaped generator and the MovieLens file layouts.

Not imported by the library that dbt Python models use; it imports nothing from there.
"""
