"""What every request shares: security headers and limits, errors, converters, templates' filters, uploads, the server.

Below the views; no module here imports views/.
"""
