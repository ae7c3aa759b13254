from click.testing import CliRunner

from radnomo.cli import main


def test_doctor_reports_versions_and_succeeds_when_installed():
    res = CliRunner().invoke(main, ["doctor"])
    assert res.exit_code == 0, res.output
    for what in ("Python", "R: glmnet", "R: rms", "R: pROC", "PyRadiomics", "compute device"):
        assert what in res.output


def test_doctor_fails_with_actionable_message_when_r_package_missing(monkeypatch):
    import radnomo.stats.session as session

    real = session.r_package_versions

    def fake(packages=("radnomo", "glmnet", "rms", "pROC", "rmda", "arrow")):
        out = real(packages)
        out["glmnet"] = None
        return out

    monkeypatch.setattr(session, "r_package_versions", fake)
    res = CliRunner().invoke(main, ["doctor"])
    assert res.exit_code == 1
    assert "glmnet" in res.output and "apt-get install r-cran-glmnet" in res.output


def test_help_lists_commands():
    res = CliRunner().invoke(main, ["--help"])
    assert res.exit_code == 0 and "doctor" in res.output
