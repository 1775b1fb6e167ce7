"""Builds the wheel with the bundled article and default config inside the `index` package.

They live at the project's top level (`sources/`, `config/`), where a clone uses them; an installed
package has no project folder, so the build copies them to `index/bundled/`, from where
`index/home.py` seeds a new home folder. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
BUNDLED = {"sources": HERE / "sources", "config/quotebot.toml": HERE / "config" / "quotebot.toml"}


class BuildWithBundledData(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "index" / "bundled"
        for name, source in BUNDLED.items():
            if source.is_dir():
                shutil.copytree(source, target / name, dirs_exist_ok=True)
            else:
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target / name)


setup(cmdclass={"build_py": BuildWithBundledData})
