"""The booth's audio library: capture post-processing and mastering.

Everything here is plain Python over an ffmpeg binary: probe a take, measure it in one
streaming pass, master it to a loudness-normalised mono MP3, tag it, and judge its
quality for the reader at the booth. It never imports flask, sqlalchemy or kiosk; the web
application calls it only from its job queue (``kiosk.ingest`` and ``kiosk.booth``, run by ``kiosk.jobs``).

Public entry points::

    from recorder.pipeline import master, analyse
    from recorder.tags import TrackTags, read_tags
    from recorder.presets import DEFAULT, Preset
    from recorder.errors import RecorderError
"""
