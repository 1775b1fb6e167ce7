"""Ingestion: files and pages in `sources/` become `Source`s and numbered `Passage`s.

Loading (txt/md/html and their metadata), cleaning scraped text, sentence splitting, who is
speaking in a quotation, and `python -m index add` (fetching a page into `sources/`).
"""
