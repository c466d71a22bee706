"""``mlops data ...`` on files and folders, and ``%mlops data ...`` on notebook variables."""

import json

import numpy as np
import pandas as pd

import nbmlops as mo


def loans(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "loan_id": np.arange(rows),
            "amount": rng.normal(100, 10, rows).round(2),
            "region": rng.choice(["n", "s"], rows),
        }
    )


def test_cli_commits_csv_parquet_and_folders_and_reads_them_back(workspace, cli, tmp_path):
    loans().to_parquet("loans.parquet")
    res = cli("data", "commit", "loans.parquet", "--name", "loans", "-m", "first")
    assert res.exit_code == 0 and res.stdout.startswith("OK: loans@1  (300 rows, 3 cols, ")
    changed = loans()
    changed.loc[:9, "amount"] += 1
    changed.to_csv("loans.csv", index=False)
    res = cli("data", "commit", "loans.csv", "--name", "loans", "-m", "from csv", "--json")
    data = json.loads(res.stdout)
    assert data["ref"] == "loans@2" and data["unchanged"] is False and data["bytes_added"] > 0
    assert "unchanged" in cli("data", "commit", "loans.csv", "--name", "loans").stdout
    log = json.loads(cli("data", "log", "loans", "--json").stdout)
    assert [(v["version"], v["message"]) for v in log["versions"]] == [
        (2, "from csv"),
        (1, "first"),
    ]
    assert (
        cli("data", "tag", "loans@1", "prod").stdout.strip()
        == "OK: loans@prod now resolves to loans@1."
    )
    res = cli("data", "load", "loans@prod", "--output", "out/v1.parquet")
    assert res.exit_code == 0
    pd.testing.assert_frame_equal(pd.read_parquet("out/v1.parquet"), loans())
    # exists: --force
    assert cli("data", "load", "loans@prod", "--output", "out/v1.parquet").exit_code == 4
    diff = json.loads(
        cli("data", "diff", "loans@1", "loans@2", "--key", "loan_id", "--json").stdout
    )
    assert (diff["added"], diff["removed"], diff["changed"]) == (0, 0, 10)

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# a")
    (folder / "b.md").write_text("# b")
    assert cli("data", "commit", str(folder), "--name", "docs").stdout.startswith(
        "OK: docs@1  (2 files, "
    )
    assert cli("data", "commit", "loans.csv", "--name", "raw-csv", "--files").stdout.startswith(
        "OK: raw-csv@1  (1 file,"
    )
    assert cli("data", "load", "docs@1", "--output", "restored").exit_code == 0
    assert (tmp_path / "restored" / "b.md").read_text() == "# b"
    listed = json.loads(cli("data", "list", "--json").stdout)["datasets"]
    assert [(d["name"], d["kind"], d["versions"]) for d in listed] == [
        ("docs", "files", 1),
        ("loans", "table", 2),
        ("raw-csv", "files", 1),
    ]
    shown = cli("data", "show", "loans@1").stdout
    assert "loan_id" in shown and "prod" in shown


def test_cli_validate_exits_non_zero_on_discrepancies(workspace, cli):
    loans().to_csv("ref.csv", index=False)
    cli("data", "commit", "ref.csv", "--name", "loans")
    assert cli("data", "validate", "ref.csv", "--against", "loans@latest").exit_code == 0
    loans().assign(amount=lambda d: d.amount * 100).drop(columns=["region"]).to_csv(
        "new.csv", index=False
    )
    res = cli("data", "validate", "new.csv", "--against", "loans@latest")
    assert res.exit_code == 1
    assert "missing column" in res.stdout and "out of range" in res.stdout
    assert "Schema of loans@1" in cli("data", "schema", "loans").stdout


def test_cli_errors_are_one_line_with_an_exit_code(workspace, cli, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    cases = [
        (
            ("data", "commit", "missing.csv", "--name", "x"),
            3,
            "Error: No file or folder is called 'missing.csv'.\n",
        ),
        (
            ("data", "load", "nope@1", "--output", "x.csv"),
            3,
            "Error: No dataset is named 'nope'; none is committed yet (data commit).\n",
        ),
        (("data", "commit", "notes.txt", "--name", "../x"), 2, None),
        (
            ("data", "load", "nope@1", "--into", "df"),
            2,
            "Error: --into works in a notebook; on the command line use --output PATH.\n",
        ),
    ]
    for args, code, message in cases:
        res = cli(*args)
        assert res.exit_code == code, (args, res.stderr)
        assert res.stderr.count("\n") == 1 and res.stderr.startswith("Error: ")
        if message:
            assert res.stderr == message


def test_every_data_command_has_help(cli):
    for command in (
        "commit",
        "list",
        "log",
        "show",
        "diff",
        "load",
        "validate",
        "schema",
        "tag",
        "lineage",
    ):
        res = cli("data", command, "--help")
        assert res.exit_code == 0 and len(res.stdout.split("\n\n")[1].strip()) > 20, command


def test_notebook_magics_commit_variables_and_load_into_variables(ip):
    ip.user_ns["df"] = loans()
    with mo.start_run(name="prep") as run:
        result = ip.run_line_magic("mlops", "data commit df --name loans -m 'from the notebook'")
    assert result.ref == "loans@1" and result.run_id == run.id
    assert "loans@1" in result._repr_html_()
    out = ip.run_line_magic("mlops", "data load loans@1 --into again --columns amount,region")
    pd.testing.assert_frame_equal(ip.user_ns["again"], loans()[["amount", "region"]])
    assert "into `again`" in out.text
    ip.user_ns["new_df"] = loans().assign(region="w")
    report = ip.run_line_magic("mlops", "data validate new_df --against loans@latest")
    assert not report.passed and report.data == "new_df"
    assert "unseen values" in report._repr_html_()
    lineage = ip.run_line_magic("mlops", "data lineage loans@1")
    assert lineage.producers[0]["run_id"] == run.id
