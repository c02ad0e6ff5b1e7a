"""Batch runs over files and collections."""
