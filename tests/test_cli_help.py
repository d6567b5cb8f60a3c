"""Every command's --help prints and exits 0: a setting's help with a bare % (``3% false abstention``)
made argparse raise instead of printing ``python -m eval --help``."""
import importlib

import pytest

COMMANDS = ("bench.build", "bench.dos", "bench.metrics", "bench.openloop", "bench.querylog", "bench.replicas", "bench.report", "bench.serve",
            "bench.triage", "eval.alignment", "eval.cli", "eval.overlap", "eval.timesplit", "eval.triage",
            "indexer.cli", "report.__main__", "report.replay", "server.__main__", "storage.querylog")


@pytest.mark.parametrize("module", COMMANDS)
def test_help_prints(module, capsys):
    with pytest.raises(SystemExit) as stopped:
        importlib.import_module(module).main(["--help"])
    assert stopped.value.code == 0
    assert "usage:" in capsys.readouterr().out
