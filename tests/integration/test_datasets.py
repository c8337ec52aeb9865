"""``data add/list/show/diff`` against a real MLflow store, and every bad input refused.

One project home serves the module: a first good version is added, then each bad
input must answer with its sentence and leave the store exactly as it was.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from mlcycle.core.errors import DataError, InvalidInput, NotFound
from mlcycle.core.settings import get_settings
from mlcycle.data.diff import diff_versions
from mlcycle.data.ingest import add_dataset
from mlcycle.data.profile import load_profile
from mlcycle.data.store import list_versions, read_metadata, read_table, resolve
from mlcycle.data.validate import InvalidRows
from mlcycle.tasks.text.generator import generate
from tests.conftest import cli_env, isolated, write_project
from tests.forked_cli import run_mlcycle


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project home of its own (embedded store) for this module's tests."""
    with isolated_home(tmp_path_factory.mktemp("datasets")) as folder:
        yield folder


@contextlib.contextmanager
def isolated_home(folder: Path) -> Iterator[Path]:
    """Point mlcycle (and MLflow) at ``folder/home``; restore everything afterwards."""
    with isolated(folder / "home") as home:
        yield home


def write_csv(path: Path, rows: int = 600, seed: int = 5, **options) -> Path:
    """A generated labelled file (columns text, nace)."""
    generate(rows, seed).to_csv(path, index=False, **options)
    return path


def run_cli(home: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return run_mlcycle(list(args), env={**cli_env(home), "COLUMNS": "200"}, timeout=timeout)


def invoke(*args: str) -> Result:
    """Run a command in this process (cheap); its exit code and output are the CLI's."""
    from mlcycle.cli.main import app

    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result


def store_state() -> tuple[list[str], int]:
    """The versions and the number of runs (of any state) in the dataset experiment."""
    refs = [v.ref for v in list_versions()]
    experiment = mlflow.get_experiment_by_name(get_settings().data.experiment)
    if experiment is None:
        return refs, 0
    runs = mlflow.MlflowClient().search_runs(
        [experiment.experiment_id], run_view_type=mlflow.entities.ViewType.ALL
    )
    return refs, len(runs)


@pytest.fixture(scope="module")
def first(home: Path, tmp_path_factory: pytest.TempPathFactory):
    """``ds@1``, added from a generated CSV."""
    path = write_csv(tmp_path_factory.mktemp("files") / "extract.csv")
    return add_dataset(str(path), "ds")


def test_add_stores_an_immutable_profiled_version(first, home) -> None:
    v = first.version
    assert first.created and (v.name, v.version, v.ref) == ("ds", 1, "ds@1")
    assert v.rows == 600 and v.labels > 20 and len(v.digest) == 32
    assert v.artifact_uri.startswith((home / "datasets").resolve().as_uri())
    assert resolve("ds@latest") == resolve("ds") == resolve("ds@1") == v
    table = read_table("ds@1")
    assert table.column_names == ["text", "label"] and table.num_rows == 600
    meta = read_metadata(v)
    assert meta["digest"] == v.digest and meta["format"] == "csv"
    assert meta["encoding"] == "utf-8" and sum(meta["label_counts"].values()) == 600
    assert set(meta["null_rates"]) == {"text", "nace"}
    profile = load_profile("ds@1")
    assert profile.rows == 600 and profile.dataset == "ds@1"
    assert sum(profile.labels.values()) == 600 and profile.tokens and profile.char_ngrams


def test_identical_content_in_any_format_makes_no_new_version(first, tmp_path) -> None:
    frame = read_table("ds@1").to_pandas().rename(columns={"label": "nace"})
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "same.parquet")
    again = add_dataset(str(tmp_path / "same.parquet"), "ds")
    assert not again.created and again.version == first.version
    assert store_state()[0] == ["ds@1"]


def test_new_version_and_diff(first, tmp_path, home) -> None:
    frame = generate(600, 5)
    frame.loc[:99, "nace"] = "0111Z"  # relabel 100 rows
    frame = frame.iloc[50:]  # and drop 50
    frame.to_csv(tmp_path / "next.csv", index=False, sep=";")
    second = add_dataset(str(tmp_path / "next.csv"), "other")
    assert second.version.ref == "other@1"
    d = diff_versions("ds@1", "other@latest")
    assert d.rows_a == 600 and d.rows_b == 550
    assert d.removed - d.added == 50 and d.added >= 45
    assert "0111Z" in d.new_labels or d.labels[0].label == "0111Z"
    cli = invoke("data", "diff", "ds@1", "other@1", "--json")
    assert json.loads(cli.stdout)["removed"] == d.removed


def test_cli_list_and_show(first, home) -> None:
    listed = invoke("data", "list", "--json")
    assert "ds@1" in [v["ref"] for v in json.loads(listed.stdout)]
    shown = invoke("data", "show", "ds@1", "--json")
    payload = json.loads(shown.stdout)
    assert payload["digest"] == first.version.digest and payload["models"] == []
    assert payload["profile"]["rows"] == 600 and payload["metadata"]["rows_read"] == 600
    text = invoke("data", "show", "ds")
    assert "Dataset ds@1" in text.stdout and "Models trained on it: none yet" in text.stdout
    table = text.stdout.split("Words (top 10")[1].split("Text length")[0]
    words = [row.split("│")[1].strip() for row in table.splitlines() if row.startswith("│")]
    assert len(words) == 10 and not {"de", "et", "la", "des", "du", "en"} & set(words), table


def _bad_file(kind: str, folder: Path) -> tuple[str, dict]:
    """A path to a bad input of one kind, and options for ``add_dataset``."""
    path = folder / f"{kind}.csv"
    good = generate(50, 1)
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "header-only":
        path.write_text("text,nace\n")
    elif kind == "binary":
        path.write_bytes(bytes(range(256)) * 40)
    elif kind == "wrong-delimiter":
        good.to_csv(path, index=False, sep=":")
    elif kind == "missing-label":
        good.rename(columns={"nace": "code_ape"}).to_csv(path, index=False)
    elif kind == "duplicated-header":
        good.assign(extra="x").to_csv(path, index=False, header=["text", "nace", "text"])
    elif kind == "long-text":
        good.loc[7, "text"] = "boulangerie " * 8_334  # 100,008 characters
        good.to_csv(path, index=False)
    elif kind == "truncated-parquet":
        path = folder / "cut.parquet"
        pq.write_table(pa.Table.from_pandas(good), path)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif kind == "invalid-codes":
        good.loc[::10, "nace"] = "99999"
        good.to_csv(path, index=False)
    elif kind == "no-nace-division":
        good.loc[3::20, "nace"] = ["0400Z", "34.00a", "4000Z"][: len(good.loc[3::20])]
        good.to_csv(path, index=False)
    elif kind == "nonexistent":
        path = folder / "nope" / "missing.csv"
    return str(path), {}


BAD_INPUTS = [
    ("empty", DataError, "is empty"),
    ("header-only", DataError, "has a header but no data rows"),
    ("binary", DataError, "is binary data, not CSV text"),
    ("wrong-delimiter", DataError, "reads as a single column 'text:nace'"),
    ("missing-label", DataError, "has no column 'nace'"),
    ("duplicated-header", DataError, "names column 'text' twice"),
    ("long-text", InvalidRows, "1 text too long"),
    ("truncated-parquet", DataError, "not a readable Parquet file"),
    ("invalid-codes", InvalidRows, "5 invalid rows out of 50 \\(5 invalid label\\)"),
    ("no-nace-division", InvalidRows, "3 invalid rows out of 50 \\(3 invalid label\\)"),
    ("nonexistent", NotFound, "does not exist"),
]


@pytest.mark.parametrize(("kind", "error", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_refused_and_leaves_no_version(first, tmp_path, kind, error, message) -> None:
    before = store_state()
    location, options = _bad_file(kind, tmp_path)
    with pytest.raises(error, match=message) as caught:
        add_dataset(location, "ds", **options)
    assert "\n" not in caught.value.message and caught.value.exit_code != 0
    assert store_state() == before


def test_latin1_file_with_accents_is_added_correctly(first, tmp_path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("text;nace\nCafé-crêperie;56.10A\nÉlevage de bovins;0141Z\n".encode("latin-1"))
    added = add_dataset(str(path), "latin")
    assert added.created and read_metadata(added.version)["encoding"] in ("cp1252", "latin-1")
    assert read_table(added.version).column("text").to_pylist() == [
        "Café-crêperie",
        "Élevage de bovins",
    ]


@pytest.mark.parametrize("policy", ["drop", "quarantine"])
def test_invalid_codes_under_drop_and_quarantine(first, tmp_path, policy) -> None:
    location, _ = _bad_file("invalid-codes", tmp_path)
    added = add_dataset(location, f"codes-{policy}", on_bad_rows=policy)
    assert added.created and added.version.rows == 45 and added.dropped == 5
    assert added.reasons == {"invalid label": 5}
    meta = read_metadata(added.version)
    assert meta["bad_rows"] == 5 and meta["rows_read"] == 50
    if policy == "quarantine":
        quarantined = pq.read_table(added.version.uri("quarantine.parquet").removeprefix("file://"))
        assert quarantined.column("line").to_pylist() == [2, 12, 22, 32, 42]
        assert set(quarantined.column("nace").to_pylist()) == {"99999"}
    else:
        assert meta["quarantined_rows"] == 0


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output clean
        pass


@pytest.fixture
def http_folder(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving ``tmp_path``."""
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    server.shutdown()
    server.server_close()


def test_url_answering_404_is_refused(first, http_folder) -> None:
    base, _ = http_folder
    before = store_state()
    with pytest.raises(NotFound, match=r"answered 404 .*no file there; check the URL"):
        add_dataset(f"{base}/extracts/missing.csv", "ds")
    assert store_state() == before


def test_url_is_downloaded_and_recorded_without_secrets(first, http_folder) -> None:
    base, folder = http_folder
    write_csv(folder / "web.csv", rows=80, seed=9)
    url = base.replace("http://", "http://user:pw@") + "/web.csv?sig=secret"
    added = add_dataset(url, "web")
    assert added.version.rows == 80 and added.version.source == f"{base}/web.csv"


def test_missing_versions_and_names_are_not_found(first, home) -> None:
    with pytest.raises(NotFound, match=r"Dataset 'ds' has no version 99 \(versions: 1\)"):
        resolve("ds@99")
    with pytest.raises(NotFound, match="No dataset named 'nope'"):
        resolve("nope@1")
    with pytest.raises(InvalidInput, match="not a dataset reference"):
        resolve("ds@one")
    with pytest.raises(NotFound, match="has no version 99"):
        diff_versions("ds@1", "ds@99")
    result = run_cli(home, "data", "show", "ds@99")
    assert result.returncode == 3 and "has no version 99" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_refusal_is_a_sentence_then_a_table_of_lines(first, home, tmp_path) -> None:
    before = store_state()
    location, _ = _bad_file("invalid-codes", tmp_path)
    result = run_cli(home, "data", "add", location, "--name", "ds")
    assert result.returncode == 5 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: ") and "5 invalid rows out of 50" in lines[0]
    assert "First 5 offending rows" in result.stderr
    for line in (2, 12, 22, 32, 42):
        assert f"│ {line} " in result.stderr
    as_json = run_cli(home, "data", "add", location, "--name", "ds", "--json")
    payload = json.loads(as_json.stdout)
    assert as_json.returncode == 5 and payload["error"] == "data_error"
    assert [row["line"] for row in payload["rows"]] == [2, 12, 22, 32, 42]
    assert store_state() == before


def _nasty_file(kind: str, folder: Path) -> Path:
    """A file of a kind people really send, written by hand."""
    rows = generate(60, 4)
    path = folder / f"{kind}.csv"
    if kind == "bom":
        path.write_bytes(b"\xef\xbb\xbf" + rows.to_csv(index=False).encode())
    elif kind == "mixed-separators":
        lines = [f"{t};{c}" if i % 3 == 0 else f"{t},{c}" for i, (t, c) in enumerate(rows.values)]
        path.write_text("\n".join(["text,nace", *lines]) + "\n")
    elif kind == "numbers-as-text":
        rows.assign(text=[f"{i * 3.5}" for i in range(60)]).to_csv(path, index=False)
    elif kind == "numbers-as-codes":
        rows.assign(nace=[1000 + i % 7 for i in range(60)]).to_csv(path, index=False)
    elif kind == "empty-texts":
        rows.loc[::6, "text"] = "   "
        rows.to_csv(path, index=False)
    elif kind == "no-nace-division":
        rows.loc[[1, 30], "nace"] = ["0400Z", "40.00Z"]
        rows.to_csv(path, index=False)
    elif kind == "no-subclass":  # a real division, but no such subclass; a class
        rows.loc[[1, 30, 44], "nace"] = ["5699Z", "01.11A", "56.10"]
        rows.to_csv(path, index=False)
    return path


NASTY = [
    ("bom", 0, "Added nasty-bom@1: 60 rows"),
    ("mixed-separators", 5, "malformed record"),
    ("numbers-as-text", 0, "Added nasty-numbers-as-text@1"),
    ("numbers-as-codes", 5, "60 invalid label"),
    ("empty-texts", 5, "10 empty text"),
    ("no-nace-division", 5, "2 invalid label"),
    ("no-subclass", 5, "3 invalid label"),
]


@pytest.mark.parametrize(("kind", "code", "says"), NASTY, ids=[n[0] for n in NASTY])
def test_nasty_files_are_added_or_refused_in_one_sentence(
    first, home, tmp_path, kind, code, says
) -> None:
    path = _nasty_file(kind, tmp_path)
    result = run_cli(home, "data", "add", str(path), "--name", f"nasty-{kind}")
    assert result.returncode == code, result.stderr
    assert says in (result.stdout if code == 0 else result.stderr.splitlines()[0])
    assert "Traceback" not in result.stderr and "Unexpected error" not in result.stderr
    if kind in ("no-nace-division", "no-subclass"):  # each bad row shown with its line
        assert "│ 3 " in result.stderr and "│ 32 " in result.stderr
    if kind == "no-subclass":
        assert "5699Z" in result.stderr and "│ 46 " in result.stderr


def test_a_class_level_project_adds_class_codes_and_refuses_others(tmp_path) -> None:
    write_project(tmp_path / "home", "data: {label_level: class}")
    with isolated_home(tmp_path) as home:
        rows = generate(80, 4)
        rows["nace"] = [f"{code[:2]}.{code[2:4]}" for code in rows["nace"]]  # INSEE's class
        rows.loc[[5, 40], "nace"] = ["5610A", "56"]
        path = tmp_path / "classes.csv"
        rows.to_csv(path, index=False)
        refused = run_cli(home, "data", "add", str(path), "--name", "classes", "--json")
        payload = json.loads(refused.stdout)
        assert refused.returncode == 5 and [row["line"] for row in payload["rows"]] == [7, 42]
        assert payload["rows"][0]["reason"] == "label '5610A' is not a naf-rev2 class code"
        rows.drop(index=[5, 40]).to_csv(path, index=False)
        added = run_cli(home, "data", "add", str(path), "--name", "classes")
        assert added.returncode == 0, added.stderr
        labels = read_table(resolve("classes@1")).column("label").to_pylist()
        assert len(labels) == 78 and all(len(label) == 4 for label in labels)


def test_training_on_nasty_data_gives_a_model_or_a_sentence(tmp_path) -> None:
    """Past ``data add``: codes outside NACE and codes seen once, straight to ``train``."""
    with isolated_home(tmp_path) as home:
        train = ["train", "-P", "epoch=2", "-P", "dim=16", "-P", "bucket=10000", "--no-register"]
        rows = generate(300, 7)
        rows.loc[::10, "nace"] = "0400Z"  # 30 rows: some are evaluated
        rows.to_csv(tmp_path / "odd-codes.csv", index=False)
        result = run_cli(home, *train, "--data", str(tmp_path / "odd-codes.csv"))
        assert result.returncode == 0, result.stderr
        rows.iloc[1:3].to_csv(tmp_path / "tiny.csv", index=False)
        result = run_cli(home, *train, "--data", str(tmp_path / "tiny.csv"))
        assert result.returncode == 5 and "Unexpected error" not in result.stderr
        assert "No 'nace' value has enough rows to set one aside for evaluation" in result.stderr


def test_the_home_is_owner_only_whatever_the_umask(tmp_path) -> None:
    with isolated_home(tmp_path) as home:
        path = write_csv(tmp_path / "extract.csv", rows=80)
        add = [sys.executable, "-m", "mlcycle", "data", "add", str(path), "--name", "private"]
        done = subprocess.run(add, env=cli_env(home), capture_output=True, umask=0o022)
        assert done.returncode == 0, done.stderr
        assert (home / "datasets").is_dir()  # made by MLflow with the umask's 755...
        assert home.stat().st_mode & 0o777 == 0o700  # ...unreachable inside the home
        assert (home / "mlflow.db").stat().st_mode & 0o777 == 0o600
        # A home left open (by an older mlcycle, or by hand) is closed on demand.
        home.chmod(0o755)
        result = run_cli(home, "doctor")
        assert result.returncode == 0, result.stderr
        assert f"{home}: other users can access it (mode 755); set to 700." in result.stdout
        assert home.stat().st_mode & 0o777 == 0o700


def test_an_unusual_delimiter_is_given_with_delimiter(first, tmp_path) -> None:
    location, _ = _bad_file("wrong-delimiter", tmp_path)
    added = add_dataset(location, "colons", delimiter=":")
    assert added.version.rows == 50 and read_metadata(added.version)["delimiter"] == ":"
    with pytest.raises(InvalidInput, match="--delimiter must be one character"):
        add_dataset(location, "colons", delimiter="::")
