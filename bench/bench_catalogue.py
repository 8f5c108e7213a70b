"""Benchmark (c): pages and API with 10,000 books and 100,000 chapters, against static files of the same size.

Builds a temporary library with bulk inserts (10,000 published books spread over the
nine sections, ten chapters each sharing a few real audio files), starts ``kiosk serve``
on 127.0.0.1, and for each page or API URL measures latency with wrk for a bounded
time; then a file of exactly the same bytes, published in the store and fetched from
the same server at ``/media/<key>`` (sendfile, no template, no query beyond the
publication check), is measured the same way: the ratio is what rendering costs.
Prints a table and writes it to bench/results.md under "Catalogue pages".

    python bench/bench_catalogue.py            # about 2 minutes
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``kiosk`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_streaming import kiosk_executable
from bench.common import (
    LOOPBACK,
    ServerProcess,
    WrkResult,
    free_port,
    machine_description,
    machine_markdown,
    markdown_table,
    run_and_record,
    run_wrk,
    today,
    wait_for_http,
    wait_for_quiet,
)
from kiosk.library.catalogue import BOOKS_PER_PAGE

HEADING = "Catalogue pages"
BOOKS = 10_000
TRACKS_PER_BOOK = 10
PAGE_BUDGET_BYTES = 50 * 1024
HANZI = "春夏秋冬山水风月花鸟天地人和光明古今诗词歌赋江河湖海云雨雪霜星辰日夜东西南北红楼西游记三国演义水浒传红岩围城家春秋骆驼祥子边城呐喊彷徨朝花夕拾"  # noqa: E501
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--books", type=int, default=BOOKS)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (default 4)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--wait-quiet", type=float, default=30)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--keep", action="store_true")
    return parser.parse_args()


# --- the library -------------------------------------------------------------------------------


def _title(rng: random.Random) -> str:
    """A plausible Chinese title of 2–6 characters."""
    return "".join(rng.choice(HANZI) for _ in range(rng.randint(2, 6)))


def build_library(data_dir: Path, books: int) -> dict[str, object]:
    """Bulk-insert the catalogue; return what the measurements need (slug, ids, store)."""
    os.environ["KIOSK_DATA_DIR"] = str(data_dir)
    from sqlalchemy import insert, select

    from kiosk import create_app
    from kiosk.extensions import db
    from kiosk.library.sortkeys import search_text, sort_key
    from kiosk.models import Book, Section, Track
    from kiosk.storage import store

    rng = random.Random(6)
    app = create_app()
    with app.app_context():
        section_ids = list(db.session.scalars(select(Section.id).order_by(Section.position)))
        audio = [store().put_bytes(os.urandom(200_000 + n), "audio", "mp3") for n in range(3)]
        rows = []
        for n in range(books):
            title, author = _title(rng), rng.choice(SURNAMES) + _title(rng)[:2]
            rows.append({
                "section_id": section_ids[n % len(section_ids)], "title": title, "author": author,
                "sort_key": sort_key(title), "search_text": search_text([title, author]), "published": True,
                "description": "这是一本用于性能测试的有声书。",
            })
        db.session.execute(insert(Book), rows)
        book_ids = list(db.session.scalars(select(Book.id).order_by(Book.id)))
        tracks = [
            {"book_id": book_id, "position": p + 1, "title": f"第{p + 1}章", "duration_ms": 600_000,
             "audio_key": audio[p % len(audio)], "size_bytes": 200_000, "mime_type": "audio/mpeg", "published": True}
            for book_id in book_ids for p in range(TRACKS_PER_BOOK)
        ]
        for start in range(0, len(tracks), 20_000):
            db.session.execute(insert(Track), tracks[start : start + 20_000])
        db.session.commit()
        slug = db.session.scalar(select(Section.slug).order_by(Section.position))
        counts = (db.session.query(Book).count(), db.session.query(Track).count())
        db.engine.dispose()
    return {"slug": slug, "book_id": book_ids[len(book_ids) // 2], "books": counts[0], "tracks": counts[1]}


def publish_same_bytes(data_dir: Path, body: bytes, book_id: int) -> str:
    """Store ``body`` as a published chapter's file; its ``/media/`` path (the static twin)."""
    os.environ["KIOSK_DATA_DIR"] = str(data_dir)
    from kiosk import create_app
    from kiosk.extensions import db
    from kiosk.models import Track
    from kiosk.storage import store

    app = create_app()
    with app.app_context():
        key = store().put_bytes(body, "audio", "mp3")
        db.session.add(Track(book_id=book_id, position=99, title="static twin", duration_ms=1, audio_key=key,
                             size_bytes=len(body), mime_type="audio/mpeg", published=True))
        db.session.commit()
        db.engine.dispose()
    return f"/media/{key}"


# --- the measurements ----------------------------------------------------------------------------


def fetch(port: int, path: str) -> bytes:
    """One GET; the body (must be 200)."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered {response.status}")
    return body


def latency(port: int, path: str, args: argparse.Namespace) -> WrkResult:
    """wrk against one URL after the quiet-machine wait."""
    wait_for_quiet(args.wait_quiet)
    url = f"http://{LOOPBACK}:{port}{path}"
    return run_wrk(url, threads=1, connections=args.connections, duration_s=args.duration, timeout_s=10)


def run(args: argparse.Namespace, workdir: Path) -> str:
    """Build, serve, measure; the results section."""
    machine = machine_description()
    data_dir = workdir / "data"
    env = {**os.environ, "KIOSK_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    subprocess.run([kiosk_executable(), "init"], env=env, check=True, capture_output=True)
    started = time.monotonic()
    library = build_library(data_dir, args.books)
    build_s = time.monotonic() - started
    print(f"library: {library['books']:,} books, {library['tracks']:,} chapters in {build_s:.1f} s", flush=True)
    urls = [
        ("section page", f"/sections/{library['slug']}"),
        ("section API", f"/api/v1/sections/{library['slug']}"),
        ("book page", f"/books/{library['book_id']}"),
        ("book API", f"/api/v1/books/{library['book_id']}"),
        ("wall (home page)", "/"),
    ]
    port = free_port()
    argv = [kiosk_executable(), "serve", "--host", LOOPBACK, "--port", str(port), "--no-worker"]
    if args.workers:
        argv += ["--workers", str(args.workers)]
    bodies: dict[str, bytes] = {}
    with ServerProcess("kiosk serve", argv, env=env, log_path=workdir / "serve.log") as server:
        wait_for_http(server, port, "/")
        for _, path in urls:
            bodies[path] = fetch(port, path)
    twins = {path: publish_same_bytes(data_dir, body, int(library["book_id"])) for path, body in bodies.items()}
    rows = []
    with ServerProcess("kiosk serve", argv, env=env, log_path=workdir / "serve2.log") as server:
        wait_for_http(server, port, "/")
        for label, path in urls:
            assert fetch(port, twins[path]) == bodies[path]
            page, static = latency(port, path, args), latency(port, twins[path], args)
            print(f"  {label}: {page.latency_p50_ms:.1f} ms p50 vs static {static.latency_p50_ms:.1f} ms", flush=True)
            rows.append([
                f"{label} `{path}`", len(bodies[path]), page.requests_per_s, page.latency_p50_ms, page.latency_p99_ms,
                static.requests_per_s, static.latency_p50_ms, f"{page.latency_p50_ms / static.latency_p50_ms:.1f}×",
                page.errors + static.errors,
            ])
    table = markdown_table(
        ["URL", "bytes", "req/s", "p50 ms", "p99 ms", "same bytes static: req/s", "static p50 ms",
         "p50 ratio page / static", "errors"],
        rows,
    )
    section_bytes = len(bodies[urls[0][1]])
    budget = (
        f"The section page shows the first {BOOKS_PER_PAGE} of its section's {library['books'] // 9:,}-odd books "
        f"(then page 2, 3 …): {section_bytes / 1024:,.0f} KB, "
        f"{'within' if section_bytes <= PAGE_BUDGET_BYTES else '**over**'} the 50 KB page budget. "
        f"wrk keeps {args.connections} connections busy at once, each sending its next request as soon as the "
        "last one is answered, so p99 includes waiting for the other connections' pages."
    )
    return "\n\n".join([
        f"Run {today()} with `python bench/bench_catalogue.py`. {library['books']:,} published books over the nine "
        f"sections and {library['tracks']:,} chapters (bulk inserts, {build_s:.0f} s), SQLite, `kiosk serve` "
        f"(gunicorn, gevent workers, one per two cores) on 127.0.0.1; "
        f"`wrk -t1 -c{args.connections} -d{args.duration}s` "
        "per URL. \"Same bytes static\": the response body saved as a published file and fetched from the same "
        "server at `/media/<key>`.",
        table,
        budget,
        "Machine:\n\n" + machine_markdown(machine),
    ])


def main() -> None:
    """Run, print and record; servers, load tool and temp files never outlive it."""
    args = parse_args()
    run_and_record("catalogue", HEADING, args, run)


if __name__ == "__main__":
    main()
