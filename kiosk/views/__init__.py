"""Blueprints, one per audience; views never import each other."""
