"""OpenEnv's task API over real HTTP (embedded server on 127.0.0.1), on the curated split, the
shipped corpus splits and an imported file: everything public, nothing secret."""

from __future__ import annotations

import json
import httpx
import pytest

from tests.corpus.test_importer import BUGGY, task, write_lines
from tracefix.core.constants import ENV_NAME
from tracefix.corpus.splits import corpus_splits
from tracefix.tasks.registry import CORPUS_FILE, CURATED_FILE, CURATED_SPLIT, TaskRegistry
from tracefix.tasks.schema import Task, load_task_file


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(base url, registry) with curated + train/validation/test + an imported split 'outside'."""
    from tracefix.server.embedded import embedded_server
    from tracefix.server.tracefix_rl_environment import configure_registry

    registry = TaskRegistry()
    registry.add_split(CURATED_SPLIT, load_task_file(CURATED_FILE)[0])
    for name, tasks in corpus_splits(CORPUS_FILE).items():
        registry.add_split(name, tasks)
    path = write_lines(tmp_path_factory.mktemp("imp") / "outside.jsonl", [task("ext/one"), task("ext/two", buggy_code=BUGGY.replace("-x", "x"))])
    assert registry.add_file(path) == "outside"
    configure_registry(registry)
    try:
        with embedded_server() as url:
            yield url, registry
    finally:
        configure_registry(None)  # type: ignore[arg-type]


def secrets(tasks: list[Task]) -> set[str]:
    """Strings that must never appear: reference programs, and hidden test code not also public."""
    out = {json.dumps(t.reference_code) for t in tasks}
    hidden = {
        getattr(step, "eval", None) or getattr(step, "exec", "")
        for t in tasks for test in t.hidden_tests for step in test.steps
    }
    public = "".join(json.dumps(t.public_view()) + t.buggy_code + t.description for t in tasks)
    for code in hidden:
        if len(code) > 12 and code not in public and json.dumps(code)[1:-1] not in public:
            out.add(json.dumps(code)[1:-1])
    return out


def assert_no_secret(text: str, tasks: list[Task]) -> None:
    assert "reference_code" not in text
    leaked = [s for s in secrets(tasks) if s in text]
    assert not leaked, f"leaked: {leaked[:3]}"


def test_splits_and_counts_over_http(served):
    url, registry = served
    with httpx.Client(base_url=url, timeout=60) as http:
        splits = http.get(f"/{ENV_NAME}/splits").json()
        by_name = {s["name"]: s for s in splits}
        assert {"curated", "train", "validation", "test", "outside"} <= set(by_name)
        assert by_name["train"]["type"] == "train" and by_name["test"]["type"] == "test"
        for name in ("curated", "train", "validation", "test", "outside"):
            n = http.post(f"/{ENV_NAME}/num_tasks", json={"split": name}).json()["num_tasks"]
            assert n == len(registry.tasks(name)) == by_name[name]["num_tasks"]
        assert by_name["train"]["num_tasks"] + by_name["validation"]["num_tasks"] + by_name["test"]["num_tasks"] >= 1000


@pytest.mark.parametrize("split", ["curated", "validation", "test", "outside"])
def test_task_listing_and_ranges_reveal_nothing_secret(served, split):
    url, registry = served
    tasks = registry.tasks(split)
    with httpx.Client(base_url=url, timeout=60) as http:
        listed = http.post(f"/{ENV_NAME}/tasks", json={"split": split})
        assert [t["id"] for t in listed.json()["tasks"]] == [t.id for t in tasks]
        ranged = http.post(f"/{ENV_NAME}/task_range", json={"split": split, "start": 0, "stop": len(tasks)})
        got = ranged.json()["tasks"]
        assert [t["id"] for t in got] == [t.id for t in tasks]
        assert all(g["buggy_code"] == t.buggy_code and len(g["visible_tests"]) == len(t.visible_tests) for g, t in zip(got, tasks))
        one = http.post(f"/{ENV_NAME}/task", json={"split": split, "index": len(tasks) - 1})
        assert one.json()["task"]["id"] == tasks[-1].id
        for response in (listed, ranged, one):
            assert response.status_code == 200
            assert_no_secret(response.text, tasks)
        bad = http.post(f"/{ENV_NAME}/task", json={"split": split, "index": len(tasks)})
        assert bad.status_code == 400


def test_reset_by_split_and_index_or_task_id(served):
    url, registry = served
    target = registry.tasks("test")[5]
    with httpx.Client(base_url=url, timeout=60) as http:
        by_index = http.post("/reset", json={"split": "test", "index": 5})
        assert by_index.status_code == 200
        assert by_index.json()["observation"]["task_id"] == target.id
        by_id = http.post("/reset", json={"task_id": "ext/two"})
        assert by_id.json()["observation"]["task_id"] == "ext/two"
        imported = http.post("/reset", json={"split": "outside", "index": 0})
        assert imported.json()["observation"]["task_id"] == "ext/one"
        for response in (by_index, by_id, imported):
            assert_no_secret(response.text, [target, *registry.tasks("outside")])
        drawn = http.post("/reset", json={"split": "validation", "seed": 3})
        assert drawn.json()["observation"]["task_id"] in {t.id for t in registry.tasks("validation")}

