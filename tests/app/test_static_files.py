"""Page weight: compressed text, a favicon, and static files cached for a year when their
URL names their content."""
import gzip
import os
import re
from urllib.parse import unquote

import brotli

from bs4 import BeautifulSoup
from flask import url_for


def _static_urls(html: str) -> list[str]:
    """Stylesheet, and the scripts base.html loads after the first paint."""
    soup = BeautifulSoup(html, "html.parser")
    urls = [tag.get("href") or tag.get("src") for tag in soup.find_all(["link", "script"])]
    for loader in soup.find_all("script", attrs={"data-scripts": True}):
        urls += loader["data-scripts"].split()
    return [url for url in urls if (url or "").startswith("/static/")]


def test_pages_and_static_text_are_compressed(client, auth):
    # open(), not get(): the checking client would read the compressed bytes as HTML.
    page = client.open("/login", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    assert "<h1>" in gzip.decompress(page.get_data()).decode()
    assert "Accept-Encoding" in page.headers["Vary"]
    auth.login("defaulter")
    record = client.open("/me", headers={"Accept-Encoding": "br, gzip"})
    assert record.headers["Content-Encoding"] == "br"
    assert "<h1>" in brotli.decompress(record.get_data()).decode()
    assert record.headers["Cache-Control"] == "no-store"  # still private
    with client.get("/static/css/app.css", headers={"Accept-Encoding": "br"}) as css:
        assert css.headers["Content-Encoding"] == "br"
        assert b"--text" in brotli.decompress(css.get_data())


def test_a_browser_without_compression_gets_plain_text(client):
    page = client.get("/login")
    assert "Content-Encoding" not in page.headers and b"<h1>" in page.get_data()


def test_every_page_links_the_favicon_which_is_also_at_the_root(client, auth):
    html = client.get("/login").get_data(as_text=True)
    icon = BeautifulSoup(html, "html.parser").find("link", rel="icon")
    # In the page itself (no request during the first paint), the same picture as the file.
    assert icon is not None and icon["href"].startswith("data:image/svg+xml,")
    with client.get("/static/favicon.svg") as svg:
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
        assert unquote(icon["href"].removeprefix("data:image/svg+xml,")) == svg.get_data(as_text=True).strip()
    with client.get("/favicon.ico") as ico:
        assert ico.status_code == 200 and ico.mimetype == "image/vnd.microsoft.icon"
        assert ico.get_data()[:4] == b"\x00\x00\x01\x00"  # an ICO file
        assert "Set-Cookie" not in ico.headers


def test_fingerprinted_static_files_are_cached_for_a_year(app, client):
    urls = _static_urls(client.get("/login").get_data(as_text=True))
    assert len(urls) >= 3, urls
    for url in urls:
        assert re.search(r"\?v=[0-9a-f]{12}$", url), url
        with client.get(url) as response:
            assert response.status_code == 200
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable", url


def test_static_files_without_the_current_fingerprint_revalidate(client):
    for url in ("/static/css/app.css", "/static/css/app.css?v=000000000000", "/favicon.ico"):
        with client.get(url) as response:
            assert response.status_code == 200
            assert "immutable" not in response.headers["Cache-Control"], url
            assert "no-cache" in response.headers["Cache-Control"], url


def test_a_changed_file_gets_a_new_address(app, tmp_path):
    """The hash is the content's, so a deployment's new CSS is never served from a cache."""
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "app.css").write_text("a{}")
    app.static_folder = str(static)
    with app.test_request_context():
        before = url_for("static", filename="css/app.css")
        (static / "css" / "app.css").write_text("b{}")
        os.utime(static / "css" / "app.css", ns=(1, 10**18))
        assert url_for("static", filename="css/app.css") != before


def test_scripts_wait_until_the_page_is_shown(client):
    """No script is fetched before the first paint (the LCP budget): the page's only
    script is an inline loader, with this request's nonce, naming htmx then app.js."""
    response = client.get("/login")
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert not soup.find_all("script", src=True)
    (loader,) = soup.find_all("script", attrs={"data-scripts": True})
    nonce = response.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert loader["nonce"] == nonce
    assert [url.split("?")[0] for url in loader["data-scripts"].split()] == [
        "/static/js/htmx.min.js", "/static/js/app.js"]
