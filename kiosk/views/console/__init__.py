"""The librarians' console: one module per area of the console, all behind sign-in.

Views never import each other, except the catalogue's shared base.
"""
