"""A small BeautifulSoup extractor of a Papers-of-the-Month page: the Python baseline that
`run.py` times beside papercast's extraction (in-process on both sides, same pages).

It reads what papercast's extractor reads, the way a short Python script would: the
canonical link, social image, title, date and category from the sidebar, the tags, and
per review (`<h2 id>` with a `.potm-meta-row`) the title, authors, organisations, link,
first figure and "The key idea" text, plus the intro bullet that links to each review.
It uses Python's built-in parser (`html.parser`), BeautifulSoup's default.

    python3 baseline_extract.py [--runs N] [--max-secs S] FILE...

prints one JSON line per file, like `benches/extract_files.rs`.
"""

import argparse
import json
import re
import sys
import time

from bs4 import BeautifulSoup

SPACE = re.compile(r"\s+")


def plain(tag):
    return SPACE.sub(" ", tag.get_text()).strip() if tag is not None else ""


def extract(html):
    soup = BeautifulSoup(html, "html.parser")
    canonical = soup.find("link", rel="canonical")
    og = soup.find("meta", property="og:image")
    meta = soup.find("ul", class_="md-post__meta")
    date, categories = None, []
    if meta is not None:
        time_tag = meta.find("time")
        date = time_tag.get("datetime", "")[:10] if time_tag else None
        categories = [plain(a) for a in meta.find_all("a", href=re.compile("category/"))]
    if "Papers of the Month" not in categories:
        raise ValueError("not a Papers of the Month post")
    article = soup.find("article")
    if article is None:
        raise ValueError("no article")
    tags = sorted({plain(t) for t in article.select(".md-tag")})
    blocks = article.find_all(recursive=False)
    h1 = next((b for b in blocks if b.name == "h1"), None)
    heads = [i for i, b in enumerate(blocks) if b.name == "h2"]
    intro = blocks[: heads[0]] if heads else blocks
    papers = []
    for n, head in enumerate(heads):
        body = blocks[head + 1 : heads[n + 1] if n + 1 < len(heads) else len(blocks)]
        anchor = blocks[head].get("id")
        row = None
        for block in body:
            row = block if "potm-meta-row" in block.get("class", []) else block.find(class_="potm-meta-row")
            if row is not None:
                break
        if anchor is None or row is None:
            continue
        paper = {"anchor": anchor, "title": plain(blocks[head]).rstrip("¶ "), "authors": "", "orgs": ""}
        for field in row.find_all(class_="potm-meta", recursive=False):
            icon = field.find("i", class_="potm-meta-icon")
            classes = icon.get("class", []) if icon else []
            if "fa-people-group" in classes:
                paper["authors"] = plain(field)
            elif "fa-building-columns" in classes:
                paper["orgs"] = plain(field)
            elif field.find("a", href=True) and "link" not in paper:
                paper["link"] = field.find("a", href=True)["href"]
        figure = None
        for block in body:
            img = block if block.name == "img" else block.find("img", src=True)
            if img is not None:
                figure = (img["src"], SPACE.sub(" ", img.get("alt", "")).strip())
                break
        paper["figure"] = figure
        key, parts = None, []
        for block in body:
            if key is None:
                if block.name in ("h3", "h4") and "key idea" in plain(block).lower():
                    key = block.name
                continue
            if block.name == "hr" or (block.name in ("h2", "h3") and block.name <= key):
                break
            for caption in block.find_all("figcaption"):
                caption.extract()
            parts.append(plain(block))
        paper["key_idea"] = " ".join(p for p in parts if p)
        summary = None
        for block in intro:
            for item in block.find_all("li"):
                if item.find("a", href=re.compile("#" + re.escape(anchor) + "$")):
                    summary = plain(item)
                    break
            if summary:
                break
        paper["intro_summary"] = summary
        papers.append(paper)
    return {
        "url": canonical.get("href") if canonical else None,
        "social_image": og.get("content") if og else None,
        "title": plain(h1) if h1 else plain(soup.title),
        "date": date,
        "tags": tags,
        "papers": papers,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--max-secs", type=float, default=30.0)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 200_000))
    for path in args.files:
        with open(path, encoding="utf-8") as f:
            html = f.read()
        try:
            outcome = f"ok: {len(extract(html)['papers'])} papers"
        except (ValueError, RecursionError) as error:
            outcome = f"error: {type(error).__name__}: {error}"
        times = []
        started = time.perf_counter()
        while len(times) < args.runs and (not times or time.perf_counter() - started < args.max_secs):
            start = time.perf_counter()
            try:
                extract(html)
            except (ValueError, RecursionError):
                pass
            times.append(time.perf_counter() - start)
        times.sort()
        print(
            json.dumps(
                {
                    "file": path,
                    "bytes": len(html.encode()),
                    "runs": len(times),
                    "median_s": times[len(times) // 2],
                    "min_s": times[0],
                    "outcome": outcome,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
