"""Listening statistics: plays from the player's beacon, QR scans, figures and charts.

Nothing personal is kept.
"""
