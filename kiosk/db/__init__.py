"""The database: creating and upgrading its schema, and consistent backups.

Below every area; imports only the models, the store and the configuration.
"""
