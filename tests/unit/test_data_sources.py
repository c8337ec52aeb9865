"""Where data comes from: paths, file:// and fsspec URLs; what lineage records."""

from __future__ import annotations

import http.server
import threading
import urllib.request
from collections.abc import Iterator

import fsspec
import pytest

from mlcycle.core.errors import InvalidInput, NotFound
from mlcycle.data import sources
from mlcycle.data.sources import fetch, is_url, origin, public_source

CSV = b"text,nace\nbar,5630Z\n"


def test_local_path_is_read_in_place(tmp_path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("text,nace\n")
    with fetch(str(path), tmp_path) as local:
        assert local.path == path.resolve() and local.source == str(path.resolve())
    assert path.exists()  # never removed: it is the user's file


def test_file_url_is_a_local_path(tmp_path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("text,nace\n")
    with fetch(path.as_uri(), tmp_path) as local:
        assert local.path == path.resolve()


def test_fsspec_url_is_copied_then_removed(tmp_path) -> None:
    with fsspec.open("memory://bucket/extract.csv", "wb") as remote:
        remote.write(CSV)
    with fetch("memory://bucket/extract.csv", tmp_path) as local:
        copy = local.path
        assert copy.name == "extract.csv" and copy.parent.parent == tmp_path / "tmp"
        assert copy.read_bytes() == CSV
        assert local.source == "memory://bucket/extract.csv"
    assert not copy.exists() and list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize(
    ("location", "error", "message"),
    [
        ("/no/such/file.csv", NotFound, "does not exist; check the path"),
        ("memory://bucket/missing.csv", NotFound, "does not exist; check the URL"),
        ("nosuchproto://x/y.csv", InvalidInput, "not a URL mlcycle can read"),
    ],
)
def test_missing_sources_are_one_sentence(location, error, message, tmp_path) -> None:
    with pytest.raises(error, match=message), fetch(location, tmp_path):
        pass


def test_folder_is_refused(tmp_path) -> None:
    with pytest.raises(InvalidInput, match="is a folder"), fetch(str(tmp_path), tmp_path):
        pass


def test_recorded_source_carries_no_secret() -> None:
    url = "https://alice:s3cret@data.example.org:8443/extracts/2024.csv?token=abc#x"
    assert public_source(url) == "https://data.example.org:8443/extracts/2024.csv"
    assert is_url(url) and not is_url("C:\\data\\x.csv") and not is_url("data/x.csv")


class _Origin(http.server.ThreadingHTTPServer):
    """A real HTTP server that records the Authorization header of every request.

    ``/data.csv`` answers the file; ``/private.csv`` answers 401 without credentials;
    ``/go?to=URL`` redirects (302) to URL, relative or absolute.
    """

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.seen: list[tuple[str, str | None]] = []
        self.base = f"http://127.0.0.1:{self.server_address[1]}"


class _Recorder(http.server.BaseHTTPRequestHandler):
    server: _Origin

    def do_GET(self) -> None:  # the name http.server calls
        auth = self.headers.get("Authorization")
        self.server.seen.append((self.path, auth))
        if self.path.startswith("/go?to="):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/go?to="))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/data.csv" or (self.path == "/private.csv" and auth):
            self.send_response(200)
            self.send_header("Content-Length", str(len(CSV)))
            self.end_headers()
            self.wfile.write(CSV)
        else:
            self.send_response(401 if self.path == "/private.csv" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, *args) -> None:  # keep test output clean
        pass


@pytest.fixture
def origins() -> Iterator[tuple[_Origin, _Origin]]:
    """Two real servers on two ports of 127.0.0.1: two origins."""
    servers = (_Origin(), _Origin())
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def _with_credentials(base: str) -> str:
    return base.replace("http://", "http://alice:s3cret@")


def test_credentials_never_follow_a_redirect_to_another_origin(origins, tmp_path) -> None:
    home, other = origins
    url = f"{_with_credentials(home.base)}/go?to={other.base}/data.csv"
    with fetch(url, tmp_path) as local:
        assert local.path.read_bytes() == CSV
    assert home.seen[0][1] is not None and home.seen[0][1].startswith("Basic ")
    assert other.seen == [("/data.csv", None)]


def test_credentials_follow_a_redirect_on_the_same_origin(origins, tmp_path) -> None:
    home, _ = origins
    with fetch(f"{_with_credentials(home.base)}/go?to=/private.csv", tmp_path) as local:
        assert local.path.read_bytes() == CSV
    sent = [auth for _, auth in home.seen]
    assert len(sent) == 2 and sent[0] == sent[1] and sent[0].startswith("Basic ")


def test_another_origin_refusing_access_says_credentials_stayed_home(origins, tmp_path) -> None:
    home, other = origins
    url = f"{_with_credentials(home.base)}/go?to={other.base}/private.csv"
    with (
        pytest.raises(InvalidInput, match="never sent to another origin") as caught,
        fetch(url, tmp_path),
    ):
        pass
    assert "s3cret" not in caught.value.message and other.seen == [("/private.csv", None)]
    assert list((tmp_path / "tmp").iterdir()) == []  # the partial download is gone


@pytest.mark.parametrize(
    ("first", "redirect", "kept"),
    [
        ("https://data.example.org/a.csv", "http://data.example.org/a.csv", False),
        ("https://data.example.org/a.csv", "https://cdn.example.org/a.csv", False),
        ("https://data.example.org/a.csv", "https://data.example.org:8443/a.csv", False),
        ("https://data.example.org/a.csv", "https://DATA.example.org:443/b.csv", True),
        ("http://data.example.org/a.csv", "http://data.example.org:80/b.csv", True),
    ],
)
def test_an_https_downgrade_or_another_host_or_port_gets_no_credentials(
    first, redirect, kept
) -> None:
    request = urllib.request.Request(first, headers={"Authorization": "Basic c2VjcmV0"})
    handler = sources._CredentialsStayHome()
    new = handler.redirect_request(request, None, 302, "Found", {}, redirect)
    assert new is not None and new.full_url == redirect
    assert new.has_header("Authorization") is kept
    assert (origin(first) == origin(redirect)) is kept
