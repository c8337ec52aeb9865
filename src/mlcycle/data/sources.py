"""Where a data file comes from: a local path, an ``http(s)://`` URL or any fsspec URL.

:func:`fetch` yields a local file to read and the source string recorded as lineage.
Remote files are copied once into a work folder under the project home (see
:mod:`mlcycle.core.scratch`: a killed process leaves nothing there for good) and
removed afterwards; the recorded source never carries credentials or signed query
strings. Credentials written in an ``http(s)://`` URL go to that URL's
origin only: a redirect to another origin (another scheme, host or port, an https ->
http downgrade included) is followed without them, as curl and requests do, so a
pre-signed download link still works and the password never leaves its server.
"""

from __future__ import annotations

import base64
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcycle.core.errors import InvalidInput, NotFound, Unavailable
from mlcycle.core.scratch import scratch_dir

# A scheme of two letters or more: "C:\data.csv" stays a path on every platform.
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]+)://")
_CHUNK = 1 << 20
_TIMEOUT_S = 60
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class LocalFile:
    """A readable local copy of the data and where it came from."""

    path: Path
    source: str


def is_url(location: str) -> bool:
    """Whether ``location`` is written as a URL (``scheme://...``) rather than a path."""
    return _URL.match(location) is not None


def public_source(location: str) -> str:
    """``location`` as lineage may record it: no user, password or query string."""
    if not is_url(location):
        return str(Path(location).expanduser().resolve())
    parts = urllib.parse.urlsplit(location)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


@contextmanager
def fetch(location: str, home: Path) -> Iterator[LocalFile]:
    """A local file holding the data at ``location``, removed on exit if it was copied.

    A local path is read in place; a remote file is copied into a work folder under
    the project ``home``.

    Raises:
        NotFound: The path does not exist or the server answered 404.
        InvalidInput: The URL scheme is unknown or needs a package that is missing.
        Unavailable: The server could not be reached or answered with an error.
    """
    match = _URL.match(location)
    if match is None or match["scheme"].lower() == "file":
        path = _local_path(location)
        yield LocalFile(path, str(path))
        return
    with scratch_dir(home, "fetch") as work:
        target = work / _file_name(location)
        if match["scheme"].lower() in ("http", "https"):
            _download_http(location, target)
        else:
            _download_fsspec(location, target)
        yield LocalFile(target, public_source(location))


def _local_path(location: str) -> Path:
    if is_url(location):
        location = urllib.request.url2pathname(urllib.parse.urlsplit(location).path)
    path = Path(location).expanduser().resolve()
    if not path.exists():
        raise NotFound(f"Data file {location} does not exist; check the path.")
    if not path.is_file():
        raise InvalidInput(f"{location} is a folder; give a CSV or Parquet file.")
    return path


def _file_name(location: str) -> str:
    """The last part of the URL path (its suffix tells CSV from Parquet), or 'download'."""
    name = Path(urllib.parse.unquote(urllib.parse.urlsplit(location).path)).name
    return name or "download"


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port of a URL (the default port made explicit): who may see secrets."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


class _CredentialsStayHome(urllib.request.HTTPRedirectHandler):
    """Follows redirects; the Authorization header goes along only to the same origin.

    urllib copies every header of a request to its redirect, wherever it points.
    """

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and origin(newurl) != origin(req.full_url):
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_CredentialsStayHome)


def _download_http(url: str, target: Path) -> None:
    shown = public_source(url)
    request = _request(url)
    try:
        with (
            _OPENER.open(request, timeout=_TIMEOUT_S) as reply,
            open(target, "wb") as out,
        ):
            shutil.copyfileobj(reply, out, _CHUNK)
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            raise NotFound(
                f"{shown} answered {exc.code} {exc.reason}: there is no file there; check the URL."
            ) from None
        if exc.code in (401, 403):
            raise InvalidInput(_refused(url, exc)) from None
        raise Unavailable(f"{shown} answered {exc.code} {exc.reason}; try again later.") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unavailable(f"{shown} could not be reached ({reason}); check the URL.") from None


def _refused(url: str, exc: urllib.error.HTTPError) -> str:
    """Why access was refused, naming the redirect that got no credentials, if any."""
    answer = f"{exc.code} {exc.reason}"
    final = exc.geturl() or url
    if origin(final) == origin(url):
        return f"{public_source(url)} refused access ({answer}); check the URL's credentials."
    refused = f"{public_source(url)} redirected to {public_source(final)}, which refused access"
    if urllib.parse.urlsplit(url).username is None:
        return f"{refused} ({answer}); put the credentials it needs in that URL."
    return (
        f"{refused} ({answer}); credentials are never sent to another origin: give that "
        "URL, with its own credentials, directly."
    )


def _request(url: str) -> urllib.request.Request:
    """A GET request; ``user:password@`` in the URL becomes a basic-auth header."""
    parts = urllib.parse.urlsplit(url)
    headers = {"User-Agent": "mlcycle"}
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        url = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return urllib.request.Request(url, headers=headers)


def _download_fsspec(url: str, target: Path) -> None:
    import fsspec

    shown = public_source(url)
    try:
        with fsspec.open(url, "rb") as remote, open(target, "wb") as out:
            shutil.copyfileobj(remote, out, _CHUNK)
    except FileNotFoundError:
        raise NotFound(f"{shown} does not exist; check the URL.") from None
    except ImportError as exc:
        raise InvalidInput(
            f"Reading {shown} needs a package that is not installed ({exc}); install it."
        ) from None
    except ValueError as exc:  # fsspec: "Protocol not known"
        raise InvalidInput(f"{shown} is not a URL mlcycle can read ({exc}).") from None
    except OSError as exc:
        raise Unavailable(f"{shown} could not be read ({exc}); check the URL.") from None
