"""The demo library: real, playable recordings made on this machine, covers and booth texts.

Loaded by ``kiosk demo`` and ``kiosk serve --demo``.
"""
