"""Serving audio and covers: HTTP ranges and validators, and the published-only tree for nginx.

The one place a media response is built.
"""
