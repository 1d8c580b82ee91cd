"""Train a tool-calling model to debug Python programs with GRPO (TRL) on TraceFix.

On a GPU machine (the README's "Training" section):

    uv sync --extra train
    uv run tracefix export dataset --split train --out data/tracefix-train
    uv run python examples/train_grpo.py --model Qwen/Qwen3-0.6B --dataset data/tracefix-train --reward-mode binary

Every rollout plays one episode of the row's task through :class:`TraceFixToolEnv` (in-process, or on
a TraceFix server when ``TRACEFIX_URL`` is set: start it with ``TRACEFIX_MAX_CONCURRENT_ENVS`` at
least the generation batch size), and the episode's return in the chosen reward mode is the reward.
``build_trainer`` is also what the CPU smoke test runs, with a tiny model, so this file stays working.
"""

from __future__ import annotations

import argparse
import functools
from typing import Any, Optional


def make_config(output_dir: str, *, episode_steps: int, **overrides: Any):
    """GRPO settings for multi-turn tool use; ``episode_steps`` is the episode budget (one tool call = one step)."""
    from trl import GRPOConfig

    settings: dict[str, Any] = dict(
        output_dir=output_dir,
        num_generations=8,
        per_device_train_batch_size=8,
        gradient_accumulation_steps=4,
        # Tool results count towards the completion: leave room for the whole budget of calls.
        max_completion_length=8192,
        # The budget's last call evaluates the code (as a submit would), so an episode that keeps
        # calling tools always ends inside the rollout; one that stops early is unfinished and
        # earns its penalties only (see TraceFixToolEnv.get_reward).
        max_tool_calling_iterations=episode_steps,
        learning_rate=1e-6,
        logging_steps=1,
        save_steps=100,
        report_to="none",
    )
    settings.update(overrides)
    return GRPOConfig(**settings)


def build_trainer(
    model: Any,
    dataset: Any,
    config: Any,
    *,
    reward_mode: str = "binary",
    episode_steps: int = 12,
    processing_class: Optional[Any] = None,
    env_class: Optional[type] = None,
):
    """A GRPOTrainer whose only reward is the TraceFix episode return (``get_reward``)."""
    from trl import GRPOTrainer

    from tracefix.adapters.trl_env import TraceFixToolEnv

    factory = functools.partial(env_class or TraceFixToolEnv, reward_mode=reward_mode, max_steps=episode_steps)
    return GRPOTrainer(
        model=model, processing_class=processing_class, args=config, train_dataset=dataset, environment_factory=factory
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="Qwen/Qwen3-0.6B", help="A causal LM whose chat template supports tools.")
    parser.add_argument("--dataset", required=True, help="Directory written by `tracefix export dataset`.")
    parser.add_argument("--reward-mode", default="binary", choices=["shaped", "score", "binary"])
    parser.add_argument("--episode-steps", type=int, default=12, help="Episode budget (tool calls).")
    parser.add_argument("--output-dir", default="runs/tracefix-grpo")
    parser.add_argument("--train-steps", type=int, default=-1, help="Optimizer steps (-1: one epoch).")
    args = parser.parse_args()

    from datasets import load_from_disk

    overrides = {"max_steps": args.train_steps} if args.train_steps > 0 else {}
    config = make_config(args.output_dir, episode_steps=args.episode_steps, **overrides)
    trainer = build_trainer(
        args.model, load_from_disk(args.dataset), config, reward_mode=args.reward_mode, episode_steps=args.episode_steps
    )
    trainer.train()
    trainer.save_model(args.output_dir)


if __name__ == "__main__":
    main()
