"""TraceFixToolEnv, the TRL tool environment: in-process and against the real server on 127.0.0.1."""

from __future__ import annotations

import inspect

import pytest

from tests.helpers import EASY_TASK
from tracefix.adapters.dataset import dataset_rows
from tracefix.adapters.tools import TOOL_NAMES
from tracefix.adapters.trl_env import TraceFixToolEnv
from tracefix.agents.oracle import fix_actions
from tracefix.core import constants as C
from tracefix.core.actions import ACTIONS


def play_oracle(env: TraceFixToolEnv, registry, task_id: str, **reset_kwargs) -> list[str]:
    task = registry.get(task_id)
    texts = [env.reset(task_id=task_id, **reset_kwargs)]
    for action in fix_actions(task.buggy_code, task.reference_code):
        texts.append(env.replace_lines(action.start_line, action.end_line, action.new_code_block))
    texts += [env.run_tests(), env.submit()]
    return texts


def test_trl_sees_exactly_the_six_tools_besides_reset_and_get_reward():
    """TRL turns every public function of the class except reset and get_reward into a tool."""
    public = {name for name, _ in inspect.getmembers(TraceFixToolEnv, inspect.isfunction) if not name.startswith("_")}
    assert public - {"reset", "get_reward"} == set(TOOL_NAMES)


@pytest.mark.parametrize("spec", ACTIONS, ids=lambda s: s.tool)
def test_tools_are_documented_and_typed_by_the_action_table(spec):
    method = getattr(TraceFixToolEnv, spec.tool)
    assert method.__doc__ == spec.description()
    parameters = list(inspect.signature(method).parameters.values())[1:]
    assert [(p.name, p.annotation) for p in parameters] == [(a.tool_name, a.type.__name__) for a in spec.args]
    assert inspect.signature(method).return_annotation == "str"


def test_tool_schemas_as_transformers_builds_them():
    schema_of = pytest.importorskip("transformers.utils", reason="needs the train extra").get_json_schema
    env = TraceFixToolEnv()
    for spec in ACTIONS:
        function = schema_of(getattr(env, spec.tool))["function"]
        assert function["name"] == spec.tool
        assert list(function["parameters"].get("properties", {})) == [a.tool_name for a in spec.args]
        for arg in spec.args:
            assert function["parameters"]["properties"][arg.tool_name]["description"] == arg.doc


def test_oracle_in_process_reaches_success_with_binary_reward_one(registry):
    env = TraceFixToolEnv(reward_mode="binary")
    texts = play_oracle(env, registry, EASY_TASK)
    assert env.done and env.observation.success is True
    assert "Episode over." in texts[-1] and "success True" in texts[-1]
    assert env.get_reward() == 1.0
    assert env.rewards[:-1] == [0.0] * (len(env.rewards) - 1)
    with pytest.raises(RuntimeError, match=r"the episode is over \(score 0\.\d\d, success True\)"):
        env.view_code()


def test_oracle_against_the_server_reaches_success_with_binary_reward_one(server_url, registry, monkeypatch):
    monkeypatch.setenv("TRACEFIX_URL", server_url)
    with TraceFixToolEnv(reward_mode="binary") as env:
        assert env.base_url == server_url
        play_oracle(env, registry, "curated/lru_cache_class")
        assert env.done and env.observation.success is True and env.get_reward() == 1.0
        # The instance is reused for the next rollout, as TRL does.
        play_oracle(env, registry, EASY_TASK, reward_mode="score")
        assert env.get_reward() == pytest.approx(env.observation.score) and env.resets == 2
    assert env._remote == {}  # the WebSocket session was closed


def test_reset_text_follows_the_dataset_prompt(registry):
    env = TraceFixToolEnv()
    row = dataset_rows(registry, "curated", limit=1)[0]
    description = registry.get(row["task_id"]).description.strip()
    assert description in row["prompt"][-1]["content"]
    appended = env.reset(**row)
    assert appended.startswith("\n\n") and description not in appended
    assert " 1 | def chunk(items, size):" in appended and appended.endswith("Call one tool.")
    standalone = env.reset(task_id=row["task_id"])
    assert description in standalone  # no prompt to carry it: the description comes with the code


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task_id": EASY_TASK, "answer": "42"}, "unknown column(s) answer; accepted: task_id, split, index"),
        ({"split": "curated"}, "needs task_id, split + index, or seed"),
        ({"task_id": None, "prompt": []}, "needs task_id, split + index, or seed"),
        ({"task_id": EASY_TASK, "reward_mode": "dense"}, "unknown reward_mode 'dense'"),
        ({"task_id": "curated/nope"}, "unknown task id"),
    ],
)
def test_bad_reset_arguments_are_clear_errors(kwargs, message):
    env = TraceFixToolEnv()
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        env.reset(**kwargs)


def test_split_index_and_seed_select_tasks(registry):
    env = TraceFixToolEnv()
    env.reset(split="validation", index=3)
    assert env.observation.task_id == registry.at("validation", 3).id
    env.reset(seed=7, split="curated")
    first = env.observation.task_id
    env.reset(seed=7, split="curated")
    assert env.observation.task_id == first


def test_tools_before_reset_and_bad_arguments_are_errors():
    env = TraceFixToolEnv()
    with pytest.raises(RuntimeError, match="reset"):
        env.view_code()
    env.reset(task_id=EASY_TASK)
    with pytest.raises(ValueError, match=r"replace_lines: end_line \(2\) must be >= start_line \(5\)"):
        env.replace_lines(5, 2, "x = 1")
    with pytest.raises(ValueError, match="replace_lines: Input should be greater than or equal to 1"):
        env.replace_lines(0, 2, "x = 1")
    outside = env.replace_lines(40, 41, "x = 1")  # the environment's own error, rendered like any result
    assert "Error: lines 40-41 are outside the program" in outside
    assert env.observation.steps_used == 1


@pytest.mark.parametrize(("mode", "expected"), [("shaped", C.R_STEP_COST), ("score", 0.0), ("binary", 0.0)])
def test_an_unfinished_episode_earns_no_shaping(mode, expected):
    """Cut off after RUN_TESTS (paid +0.1 and more in advance): get_reward takes the advances back."""
    env = TraceFixToolEnv(reward_mode=mode)
    env.reset(task_id=EASY_TASK)
    env.run_tests()
    if mode == "shaped":
        assert sum(env.rewards) > 0
    assert env.get_reward() == pytest.approx(expected)


@pytest.mark.parametrize(("mode", "expected"), [("shaped", C.R_STEP_COST), ("score", 0.0), ("binary", 0.0)])
def test_submitting_the_original_earns_nothing(mode, expected):
    env = TraceFixToolEnv(reward_mode=mode)
    env.reset(task_id=EASY_TASK)
    env.submit()
    assert env.done and env.get_reward() == pytest.approx(expected)


def test_max_steps_setting_ends_the_episode_with_an_evaluation():
    env = TraceFixToolEnv(max_steps=2, reward_mode="score")
    env.reset(task_id=EASY_TASK)
    env.view_code()
    text = env.run_tests()
    assert env.done and "step limit reached" in text and env.get_reward() == 0.0


def test_get_reward_before_reset_is_an_error():
    with pytest.raises(RuntimeError, match="before reset"):
        TraceFixToolEnv().get_reward()


def test_tool_env_episodes_are_recorded_and_replay_identically(registry, tmp_path):
    from tracefix.trajectory.reader import read_trajectory, trajectory_files
    from tracefix.trajectory.replay import replay_trajectory

    with TraceFixToolEnv(reward_mode="binary", record_dir=tmp_path) as env:
        play_oracle(env, registry, EASY_TASK)
        play_oracle(env, registry, "curated/lru_cache_class")
        assert env.get_reward() == 1.0
    files = trajectory_files([tmp_path])
    assert len(files) == 2
    for path in files:
        trajectory = read_trajectory(path)
        assert trajectory.header.source == "trl" and trajectory.header.reward_mode == "binary"
        assert trajectory.footer is not None and trajectory.footer.success
        report = replay_trajectory(trajectory)
        assert report.error is None and not report.divergences, report
