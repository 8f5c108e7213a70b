"""The catalogue: sections, books, chapters and readers, what visitors may see, and the trash.

Services the visitor pages, the API, the console and the CLI ask for.
"""
