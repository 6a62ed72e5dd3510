"""Arrow buffers come from the C library's allocator inside `system_allocator`, and only there."""

from __future__ import annotations

import pyarrow as pa
import pytest

from govuk_kpi.sources.arrow_memory import system_allocator


def test_the_pool_is_switched_for_the_block_and_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    before = pa.default_memory_pool().backend_name
    with system_allocator():
        assert pa.default_memory_pool().backend_name == "system"
        made_inside = pa.array(["a" * 100] * 1000)
    assert pa.default_memory_pool().backend_name == before
    assert made_inside.to_pylist()[0] == "a" * 100  # still readable, freed by its own pool
    del made_inside


def test_the_pool_is_back_after_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    before = pa.default_memory_pool().backend_name
    with pytest.raises(RuntimeError), system_allocator():
        raise RuntimeError("boom")
    assert pa.default_memory_pool().backend_name == before


def test_a_pool_chosen_in_the_environment_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "mimalloc")
    before = pa.default_memory_pool().backend_name
    with system_allocator():
        assert pa.default_memory_pool().backend_name == before
