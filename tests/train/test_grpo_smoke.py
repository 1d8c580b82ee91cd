"""CPU smoke test: two GRPO steps of TRL's GRPOTrainer against the real environment.

A tiny randomly initialised Qwen2-shaped model and a tokenizer trained on the spot (no model hub:
``HF_HUB_OFFLINE=1``) play TraceFix through :class:`TraceFixToolEnv`, in the trainer that
``examples/train_grpo.py`` builds.  The test checks the plumbing, not learning: the trainer exposes exactly the six tools, every rollout resets an environment, the
model's tool calls reach the environment, and the rewards the trainer logs are the environment's.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import sys
from pathlib import Path

import pytest

# No model hub, ever: set before transformers / huggingface_hub are imported (they read it at import).
for _variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ[_variable] = "1"

pytestmark = [
    pytest.mark.train,
    pytest.mark.filterwarnings("ignore::FutureWarning"),  # deprecations inside transformers, not ours
    pytest.mark.skipif(
        sys.version_info < (3, 11) or any(importlib.util.find_spec(m) is None for m in ("trl", "torch", "datasets")),
        reason="needs the `train` extra (uv sync --extra train; Python >= 3.11)",
    ),
]

from tracefix.adapters.tools import TOOL_NAMES  # noqa: E402
from tracefix.adapters.trl_env import TraceFixToolEnv  # noqa: E402

STEPS = 2
PROMPTS_PER_STEP = 2
GENERATIONS = 2
EPISODE_STEPS = 3
TOOLS_TO_CALL = ("view_code", "run_tests", "submit")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_grpo.py"


def load_example():
    """examples/train_grpo.py, whose build_trainer this test runs (so the example keeps working)."""
    spec = importlib.util.spec_from_file_location("train_grpo_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class RecordingToolEnv(TraceFixToolEnv):
    """The real tool environment, recording what the trainer did with it (class-level, across instances)."""

    resets_seen: list[tuple[int, str]] = []
    rewards_given: list[float] = []
    steps_taken: list[int] = []

    def reset(self, **kwargs):
        text = super().reset(**kwargs)
        RecordingToolEnv.resets_seen.append((id(self), kwargs["task_id"]))
        return text

    def get_reward(self) -> float:
        reward = super().get_reward()
        RecordingToolEnv.rewards_given.append(reward)
        RecordingToolEnv.steps_taken.append(len(self.rewards))
        return reward


@pytest.mark.timeout(900)
def test_two_grpo_steps_against_the_real_environment(tmp_path, monkeypatch, registry):
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    monkeypatch.setenv("WANDB_DISABLED", "true")
    from datasets import Dataset

    from tests.train.tiny_lm import build_model, build_tokenizer, tool_call_text
    from tracefix.adapters.dataset import dataset_rows
    from tracefix.core.prompts import TOOL_SYSTEM_PROMPT

    rows = dataset_rows(registry, "curated", limit=STEPS * PROMPTS_PER_STEP)
    calls = [tool_call_text(name) for name in TOOLS_TO_CALL]
    corpus = [TOOL_SYSTEM_PROMPT] + [t.description + "\n" + t.buggy_code for t in registry.tasks("curated")]
    tokenizer = build_tokenizer(corpus, calls)
    model = build_model(len(tokenizer))
    call_ids = [tokenizer.convert_tokens_to_ids(call) for call in calls]
    end = tokenizer.eos_token_id
    # Nudge the random model: start with one of the tool calls, then end the turn.
    bias = {(token,): 12.0 for token in call_ids}
    bias.update({(token, end): 40.0 for token in call_ids})

    RecordingToolEnv.resets_seen.clear()
    RecordingToolEnv.rewards_given.clear()
    RecordingToolEnv.steps_taken.clear()
    example = load_example()
    config = example.make_config(
        str(tmp_path / "out"),
        episode_steps=EPISODE_STEPS,
        max_steps=STEPS,
        per_device_train_batch_size=PROMPTS_PER_STEP * GENERATIONS,
        gradient_accumulation_steps=1,
        num_generations=GENERATIONS,
        max_completion_length=3072,
        generation_kwargs={"sequence_bias": bias},
        learning_rate=1e-4,
        save_strategy="no",
        use_cpu=True,
        bf16=False,
        shuffle_dataset=False,
        seed=0,
        dataloader_num_workers=0,
    )
    trainer = example.build_trainer(
        model, Dataset.from_list(rows), config, reward_mode="shaped", episode_steps=EPISODE_STEPS,
        processing_class=tokenizer, env_class=RecordingToolEnv,
    )
    assert sorted(tool.__name__ for tool in trainer._env_tools[None]) == sorted(TOOL_NAMES)
    trainer.train()

    rollouts = STEPS * PROMPTS_PER_STEP * GENERATIONS
    assert len(RecordingToolEnv.resets_seen) == rollouts, "every rollout resets an environment"
    assert {task for _, task in RecordingToolEnv.resets_seen} == {row["task_id"] for row in rows}
    assert len(RecordingToolEnv.rewards_given) == rollouts
    assert sum(RecordingToolEnv.steps_taken) > 0, "the model's tool calls reached the environment"
    logged = [entry for entry in trainer.state.log_history if "rewards/RecordingToolEnv/mean" in entry]
    assert len(logged) == STEPS
    for step, entry in enumerate(logged):
        batch = RecordingToolEnv.rewards_given[step * PROMPTS_PER_STEP * GENERATIONS : (step + 1) * PROMPTS_PER_STEP * GENERATIONS]
        assert entry["rewards/RecordingToolEnv/mean"] == pytest.approx(statistics.fmean(batch), abs=1e-5)
        assert entry["reward"] == pytest.approx(statistics.fmean(batch), abs=1e-5)
