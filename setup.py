"""The package list: every package under textgan/, and textgan.conf, which setup.cfg's package_dir maps to the
top-level conf/ (a folder of YAML files, no __init__.py), so an installed wheel carries the same configs."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["textgan", "textgan.*"]), "textgan.conf"])
