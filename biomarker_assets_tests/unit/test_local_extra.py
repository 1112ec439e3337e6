"""The demo's stand-in is an install extra: without moto, the local commands say what to install."""

from __future__ import annotations

import sys

import pytest

from biomarker_assets.local.aws_standin import moto_server


def test_stand_in_without_moto_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "moto.server", None)  # as in the production image: not installed
    with pytest.raises(SystemExit, match=r"pip install -e '\.\[local\]'"), moto_server():
        pass
