"""The printed audio wall: cards with QR codes as HTML, SVG or PDF, and the register of codes.

A printed code resolves for ever.
"""
