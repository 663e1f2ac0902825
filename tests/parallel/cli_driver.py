"""``webbcal`` with the toy pipelines registered, for tests that run the CLI in a subprocess."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from parallel import toy_pipes
from webbcal.cli import main
from webbcal.core import registry

if __name__ == "__main__":
    for cls in (
        toy_pipes.ToyAddStep,
        toy_pipes.ToySmoothStep,
        toy_pipes.ToyChainPipeline,
        toy_pipes.ToyStackPipeline,
    ):
        registry.register(cls)
    sys.exit(main())
