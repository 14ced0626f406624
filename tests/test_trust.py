"""Trust boundaries of the files the project writes and reads (issue 32): nothing outside an output folder is ever
touched, a file the manifest does not vouch for is never replaced or removed, a damaged cache is recomputed and
damaged published data refused, never believed."""

import json
import os
import shutil
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from experiments import calibrate as C
from experiments import uncertainty as U
from experiments.compare import run_study
from experiments.runner import _cache_path, build_specs, check_cached, content_hash, run_all
from sim import files
from sim.manifest import MANIFEST, check_published, finished, read_manifest, sha256_file, vouched
from sim.params import ConfigError
from sim.provenance import REPO

SIM = [sys.executable, "-m", "sim"]


def _write(folder, kind, names, key="k"):
    """Commit ``names`` (name -> text) into an output folder of ``kind``, as a run or study does."""
    f = files.OutputFolder(folder, kind, key)
    with f.session(), f.stage() as tmp:
        for rel, text in names.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(text)


def _manifest(folder, **change):
    m = json.loads((folder / MANIFEST).read_text())
    m.update(change)
    (folder / MANIFEST).write_text(json.dumps(m))


# --- confinement -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("entry", ["../victim.txt", "ABSOLUTE", "sub/../../victim.txt", "./../victim.txt"])
def test_a_manifest_listing_a_path_outside_its_folder_deletes_nothing(tmp_path, entry):
    victim = tmp_path / "victim.txt"
    victim.write_text("mine")
    out = tmp_path / "out"
    _write(out, "run", {"timeseries.csv": "1\n"})
    _manifest(out, files=["timeseries.csv", str(victim) if entry == "ABSOLUTE" else entry])
    with pytest.raises(ConfigError, match="did not write .*a path outside the folder"):
        _write(out, "run", {"summary.json": "{}"}, key="other")
    assert victim.read_text() == "mine" and (out / "timeseries.csv").exists()


def test_a_manifest_entry_under_a_link_that_leads_out_deletes_nothing(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "victim.txt").write_text("mine")
    out = tmp_path / "out"
    _write(out, "run", {"timeseries.csv": "1\n"})
    os.symlink(elsewhere, out / "link")
    _manifest(out, files=["timeseries.csv", "link/victim.txt"])
    with pytest.raises(ConfigError, match="a path outside the folder"):
        _write(out, "run", {"summary.json": "{}"}, key="other")
    assert (elsewhere / "victim.txt").read_text() == "mine"


@pytest.mark.parametrize("inside", ["sim", "configs/x", "data/runs", ".git/x", "."])
def test_an_output_folder_inside_the_projects_code_or_data_is_refused(inside):
    path = REPO / inside
    existed = path.exists()
    with pytest.raises(ConfigError, match="inside the project's own"):
        files.OutputFolder(path, "run").check()
    assert path.exists() == existed


def test_the_command_line_refuses_a_run_folder_inside_the_code_before_any_work(tmp_path):
    r = subprocess.run(SIM + ["weeks=2", "scale=0.004", f"hydra.run.dir={REPO / 'data' / 'my_run'}"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "inside the project's own" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (REPO / "data" / "my_run").exists()


# --- ownership ---------------------------------------------------------------------------------------------------

def test_a_users_file_of_a_name_the_project_writes_is_never_replaced(tmp_path):
    out = tmp_path / "out"
    _write(out, "run", {"timeseries.csv": "1\n"})
    (out / "interventions.csv").write_text("my table")
    with pytest.raises(ConfigError, match="holds 'interventions.csv', which this project did not write"):
        files.OutputFolder(out, "run", "other").check()  # before any work
    with pytest.raises(ConfigError, match="interventions.csv"):  # and at the commit, if a writer got that far
        _write(out, "run", {"interventions.csv": "ours", "timeseries.csv": "2\n"}, key="other")
    assert (out / "interventions.csv").read_text() == "my table"
    assert (out / "timeseries.csv").read_text() == "1\n"  # nothing of the refused commit moved in
    assert finished(out, "k") is not None


def test_a_name_no_declaration_lists_is_still_never_replaced_at_the_commit(tmp_path):
    out = tmp_path / "out"
    _write(out, "trial", {"trial.csv": "1\n"})
    (out / "trial.json").write_text("my notes")
    files.OutputFolder(out, "trial", "other").check()  # trial declares no names: the commit is the guard
    with pytest.raises(ConfigError, match="holds 'trial.json'"):
        _write(out, "trial", {"trial.csv": "2\n", "trial.json": "{}"}, key="other")
    assert (out / "trial.json").read_text() == "my notes" and (out / "trial.csv").read_text() == "1\n"


def test_a_file_of_ours_the_user_changed_is_neither_replaced_nor_removed(tmp_path):
    out = tmp_path / "out"
    _write(out, "run", {"timeseries.csv": "1\n", "demography.csv": "d\n"})
    (out / "demography.csv").write_text("d\nmy note\n")
    assert finished(out, "k") is None  # changed since it was written: not a finished output any more
    with pytest.raises(ConfigError, match="holds 'demography.csv'.*changed after it wrote it"):
        files.OutputFolder(out, "run", "other").check()



def test_a_file_of_ours_the_user_changed_is_left_where_it_is_when_a_rerun_would_retire_it(tmp_path):
    out = tmp_path / "out"
    _write(out, "trial", {"trial.csv": "1\n", "trial.json": "{}"})
    (out / "trial.csv").write_text("edited\n")
    f = files.OutputFolder(out, "trial", "other")
    with pytest.raises(ConfigError, match="holds 'trial.csv'"):
        with f.session(), f.stage() as tmp:
            (tmp / "trial.csv").write_text("2\n")
    with f.session(), f.stage() as tmp:
        (tmp / "trial.json").write_text('{"new": 1}')
    assert (out / "trial.csv").read_text() == "edited\n"
    assert read_manifest(out)["files"] == ["trial.json"]


def test_files_of_ours_are_replaced_and_retired_as_before(tmp_path):
    out = tmp_path / "out"
    _write(out, "run", {"timeseries.csv": "1\n", "interventions.csv": "i\n"})
    (out / "notes.txt").write_text("my notes")
    _write(out, "run", {"timeseries.csv": "2\n"}, key="other")
    assert (out / "timeseries.csv").read_text() == "2\n" and not (out / "interventions.csv").exists()
    assert (out / "notes.txt").read_text() == "my notes"
    m = read_manifest(out)
    assert m["sha256"]["timeseries.csv"] == sha256_file(out / "timeseries.csv")


def test_a_commit_killed_half_way_leaves_every_file_vouched_for(tmp_path):
    """The manifest written while files move vouches for each file's old and new content, so the next run can
    replace either (it would refuse a file it cannot vouch for)."""
    out = tmp_path / "out"
    _write(out, "run", {"timeseries.csv": "1\n", "summary.json": "{}"})
    f = files.OutputFolder(out, "run", "other")
    real = os.replace
    moved = []

    def replace_then_die(a, b):  # the manifest, then the first file; killed before the second
        if len(moved) == 2:
            raise KeyboardInterrupt
        moved.append(b)
        return real(a, b)

    with f.session():
        tmp = out / (files.STAGING + "killed")
        tmp.mkdir()
        (tmp / "summary.json").write_text('{"new": 1}')
        (tmp / "timeseries.csv").write_text("2\n")
        os.replace = replace_then_die
        try:
            with pytest.raises(KeyboardInterrupt):
                f.commit(tmp)
        finally:
            os.replace = real
    assert (out / "summary.json").read_text() == '{"new": 1}' and (out / "timeseries.csv").read_text() == "1\n"
    assert vouched(out, read_manifest(out)) == {"summary.json", "timeseries.csv"}
    _write(out, "run", {"timeseries.csv": "3\n", "summary.json": "{}"}, key="third")
    assert (out / "timeseries.csv").read_text() == "3\n"


@pytest.mark.slow
def test_a_funded_rerun_refuses_a_users_interventions_csv_before_any_work(tmp_path):
    out = tmp_path / "run"
    base = ["area=walsall", "seed=4", "scale=0.004", "weeks=3", "progress=false", f"hydra.run.dir={out}"]
    assert subprocess.run(SIM + base, cwd=tmp_path, capture_output=True, timeout=300).returncode == 0
    (out / "interventions.csv").write_text("my table")
    r = subprocess.run(SIM + base + ["scenario=balanced"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "interventions.csv" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert (out / "interventions.csv").read_text() == "my table"
    assert json.loads((out / "summary.json").read_text())["scenario"] == "baseline"


# --- integrity ---------------------------------------------------------------------------------------------------

def _flip_in_a_data_page(path, column):
    """Flip one byte in the middle of ``column``'s data page (the footer, and so the metadata, stay intact)."""
    md = pq.read_metadata(path)
    names = [md.row_group(0).column(i).path_in_schema for i in range(md.num_columns)]
    col = md.row_group(0).column(names.index(column))
    data = bytearray(path.read_bytes())
    good = pq.read_table(path).column(column).to_pylist()
    start = col.data_page_offset
    for pos in range(start + col.total_compressed_size - 1, start, -1):  # the values sit at the page's end
        data[pos] ^= 0x04
        path.write_bytes(bytes(data))
        try:
            if pq.read_table(path).column(column).to_pylist() != good:
                return
        except Exception:
            pass
        data[pos] ^= 0x04
    raise AssertionError("no byte of the page changes a value")


def _cached_run(folder, scenario="baseline"):
    """One tiny run cached in ``folder``: (its specs, its file)."""
    specs = build_specs(["walsall"], {scenario: scenario}, 1, 3, 0.004, 5, {}, {})
    run_all(specs, folder, workers=1, progress=False)
    return specs, _cache_path(folder, specs[0])


def _change_metadata(path, key: bytes, change) -> None:
    """Rewrite a cached run with ``change`` applied to one JSON entry of its metadata (the values left as they are,
    the stored hash too: as a damaged or doctored file would be)."""
    table = pq.read_table(path)
    md = dict(table.schema.metadata)
    value = json.loads(md[key])
    change(value)
    md[key] = json.dumps(value).encode()
    pq.write_table(table.replace_schema_metadata(md), path)


def test_a_byte_flipped_in_a_cached_runs_data_page_is_caught_and_recomputed(tmp_path, capsys):
    specs, path = _cached_run(tmp_path)
    good = pq.read_table(path).to_pandas()
    _flip_in_a_data_page(path, "ties_per_resident")
    assert "damaged" in check_cached(specs[0], path)
    timing = run_all(specs, tmp_path, workers=1, progress=False)
    assert timing["ran"] == 1 and "is damaged" in capsys.readouterr().err
    assert pq.read_table(path).to_pandas().equals(good)


def test_a_changed_programme_report_in_a_cached_run_is_caught(tmp_path):
    specs, path = _cached_run(tmp_path, "balanced")

    def more_spent(report):
        report[0]["spend_gbp"] = float(report[0].get("spend_gbp", 0)) + 1

    _change_metadata(path, b"sim_report", more_spent)
    assert "damaged" in check_cached(specs[0], path)


def test_a_changed_count_per_msoa_in_a_cached_run_is_caught_and_recomputed(tmp_path):
    """The counts per MSOA ride in the cached file's metadata under its content hash: one count changed is a
    damaged file; a file without them (its hash made afresh, as a file written without them would have) is not
    whole; either is recomputed."""
    specs, path = _cached_run(tmp_path, "balanced")
    good = pq.read_table(path).schema.metadata[b"sim_msoa"]

    def one_more(msoa):
        msoa["weeks"]["5"]["poor_english"][0] += 1

    _change_metadata(path, b"sim_msoa", one_more)
    assert "damaged" in check_cached(specs[0], path)
    table = pq.read_table(path)
    md = {k: v for k, v in table.schema.metadata.items() if k not in (b"sim_msoa", b"sim_sha256")}
    table = table.replace_schema_metadata(md)
    pq.write_table(table.replace_schema_metadata({**md, b"sim_sha256": content_hash(table).encode()}), path)
    assert check_cached(specs[0], path) == "without its counts per MSOA"
    assert run_all(specs, tmp_path, workers=1, progress=False)["ran"] == 1
    assert pq.read_table(path).schema.metadata[b"sim_msoa"] == good


def test_a_study_rerun_over_a_damaged_cache_gives_the_true_tables(tmp_path):
    study = {"name": "t", "areas": ["walsall"], "scenarios": {"baseline": "baseline", "balanced": "balanced"},
             "replicates": 2, "seed": 3, "scale": 0.004, "weeks": 5, "model": {}, "interventions": {}, "workers": 1,
             "parameters": "fixed"}
    out = run_study(study, tmp_path / "s", progress=False)
    good = pq.read_table(out / "tidy.parquet").to_pandas()
    cached = sorted(out.glob("runs/*/*.parquet"))
    _flip_in_a_data_page(cached[0], "ties_per_resident")
    run_study(study, tmp_path / "s", progress=False)
    assert pq.read_table(out / "tidy.parquet").to_pandas().equals(good)


def test_a_damaged_calibration_evaluation_is_recomputed(tmp_path):
    path = tmp_path / "w0-00000.json"
    row = {"wave": 0, "index": 0, "seed": 1, "x": [0.5], "z": [], "y": {"a": 0.3448}}
    path.write_text(json.dumps({**row, "sha256": C._seal(row)}))
    assert C._read(path) == row
    path.write_text(path.read_text().replace("0.3448", "0.3393"))
    assert C._read(path) is None


def test_a_changed_published_ensemble_is_refused(tmp_path):
    ens = tmp_path / "ens"
    shutil.copytree(U.resolve_ensemble(U.DEFAULT_ENSEMBLE), ens)
    U.load_ensemble(ens)  # as published: read
    text = (ens / "ensemble.csv").read_text()
    (ens / "ensemble.csv").write_text(text[:500] + ("1" if text[500] != "1" else "2") + text[501:])
    with pytest.raises(ConfigError, match="not the file that was published"):
        U.load_ensemble(ens)
    (ens / "ensemble.csv").write_text(text)
    _manifest(ens, sha256={})
    with pytest.raises(ConfigError, match="holds no content hash"):
        U.load_ensemble(ens)


def test_the_projects_published_ensemble_and_validation_match_their_manifests():
    where = U.resolve_ensemble(U.DEFAULT_ENSEMBLE)
    check_published(where, read_manifest(where)["files"], "ensemble")
    check_published(where / "validation", read_manifest(where / "validation")["files"], "ensemble")


def test_a_changed_published_validation_is_not_shown_in_a_report(tmp_path):
    from experiments.report import VALIDATION, validation_html

    shutil.copytree(VALIDATION, tmp_path / "v")
    assert "held-out" in "".join(validation_html(tmp_path / "v"))
    path = tmp_path / "v" / "validation.csv"
    path.write_text(path.read_text() + "\n")  # one byte more
    shown = "".join(validation_html(tmp_path / "v"))
    assert "not shown" in shown and "not the file that was published" in shown


def test_column_names_swapped_in_a_cached_runs_pandas_metadata_are_caught(tmp_path):
    specs, path = _cached_run(tmp_path)

    def swap_two_names(pandas):
        a, b = pandas["columns"][4], pandas["columns"][5]
        a["name"], b["name"] = b["name"], a["name"]

    _change_metadata(path, b"pandas", swap_two_names)
    assert "damaged" in check_cached(specs[0], path)


def test_a_users_folder_named_like_a_staging_folder_is_never_removed(tmp_path):
    out = tmp_path / "out"
    (out / ".partial-mythesis").mkdir(parents=True)
    (out / ".partial-mythesis" / "chapter1.txt").write_text("precious")
    with pytest.raises(ConfigError, match="did not write"):
        _write(out, "run", {"timeseries.csv": "1\n"})
    assert (out / ".partial-mythesis" / "chapter1.txt").read_text() == "precious"
    out2 = tmp_path / "out2"
    _write(out2, "run", {"timeseries.csv": "1\n"})
    (out2 / ".partial-mine").mkdir()
    (out2 / ".partial-mine" / "x.txt").write_text("mine")
    killed = out2 / ".partial-killed"  # a killed run's staging: marked, so cleared
    killed.mkdir()
    (killed / files.STAGED).touch()
    _write(out2, "run", {"timeseries.csv": "2\n"}, key="other")
    assert (out2 / ".partial-mine" / "x.txt").read_text() == "mine" and not killed.exists()


def test_a_manifest_without_hashes_vouches_for_nothing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "interventions.csv").write_text("my table")
    (out / "notes.txt").write_text("my notes")
    (out / MANIFEST).write_text(json.dumps({"kind": "run", "key": "x", "complete": True,
                                                  "files": ["notes.txt", "interventions.csv"]}))
    with pytest.raises(ConfigError, match="interventions.csv"):
        _write(out, "run", {"timeseries.csv": "1\n"})
    assert (out / "interventions.csv").read_text() == "my table" and (out / "notes.txt").read_text() == "my notes"


@pytest.mark.parametrize("manifest", ["long", "deep", "fifo", "link"])
def test_a_crafted_manifest_is_refused_in_one_line(tmp_path, manifest):
    out = tmp_path / "out"
    out.mkdir()
    (out / "timeseries.csv").write_text("1\n")
    path = out / MANIFEST
    if manifest == "long":
        path.write_text(json.dumps({"kind": "run", "complete": True, "files": ["timeseries.csv", "a" * 300]}))
    elif manifest == "deep":
        path.write_text("[" * 100000)
    elif manifest == "fifo":
        os.mkfifo(path)
    else:
        (tmp_path / "elsewhere.json").write_text(json.dumps({"kind": "run", "complete": True, "files": []}))
        os.symlink(tmp_path / "elsewhere.json", path)
    with pytest.raises(ConfigError, match="did not write"):
        files.OutputFolder(out, "run", "k").check()
    assert (out / "timeseries.csv").read_text() == "1\n"


def test_publishing_into_the_projects_calibration_folder_is_allowed():
    files.OutputFolder(REPO / "data" / "calibration" / "default", "calibration-ensemble").check()
    files.OutputFolder(REPO / "data" / "calibration" / "default" / "validation", "validation").check()
    with pytest.raises(ConfigError, match="inside the project's own"):
        files.OutputFolder(REPO / "data" / "calibration" / "x", "study").check()


def test_names_a_case_blind_file_system_cannot_tell_apart_and_folders_with_spaces_at_an_end_are_refused():
    from experiments.compare import check_study
    from sim.checks import check_output_path

    with pytest.raises(ConfigError, match="or in case"):
        check_study({"name": "t", "areas": ["walsall"], "replicates": 2, "seed": 1, "scale": 0.004, "weeks": 3,
                     "scenarios": ["baseline", "balanced", {"name": "Balanced", "budget_gbp": 1e6,
                                                           "allocation": {"esol": 0.5}}]})
    with pytest.raises(ConfigError, match="space at either end"):
        check_output_path("/tmp/t9 ", "out")
