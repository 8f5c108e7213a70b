"""Audio into the catalogue: mastering through the recorder, bulk imports and librarians' uploads.

With booth/, the only area that imports recorder.
"""
