"""Librarians' accounts: passwords, sign-in, roles, and the audit log of what they did.

Used by every area that records who changed what.
"""
