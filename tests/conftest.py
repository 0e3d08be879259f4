import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def mini(tmp_path) -> Path:
    """A private copy of the small complete round in tests/fixtures/mini."""
    dest = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", dest)
    return dest


# tests/reports/ reads these documents and tests/test_reports_cluster.py compares a cluster's
# run with them: rendered once per session here, where both can reach them (a fixture in
# tests/reports/conftest.py is out of reach of tests/*.py), since rendering is the slow part.
@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> Path:
    """Every document and export of the report tests' fixture round (internal version, previous
    round given). Read only: a test that changes files renders into its own tmp_path."""
    from evaluator.reports import render_reports
    from tests.reports.conftest import PREVIOUS, ROUND
    out = tmp_path_factory.mktemp("reports")
    render_reports(ROUND, out, workers=1, previous_results=PREVIOUS)
    return out


@pytest.fixture(scope="session")
def rendered_public(tmp_path_factory) -> Path:
    """The same, public version."""
    from evaluator.reports import render_reports
    from tests.reports.conftest import PREVIOUS, ROUND
    out = tmp_path_factory.mktemp("reports-public")
    render_reports(ROUND, out, workers=1, public=True, previous_results=PREVIOUS)
    return out


def run_cli(*argv):
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    from typer.testing import CliRunner
    from evaluator.cli import app
    r = CliRunner().invoke(app, [str(a) for a in argv], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


# The machine is shared and has two cores: a property test that takes longer than hypothesis's
# default 200 ms deadline under load is slow, not wrong. Correctness is what the tests assert.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("agrade", deadline=None)
_hypothesis_settings.load_profile("agrade")
