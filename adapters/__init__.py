"""Thin adapters that expose :class:`tracefix.core.environment.TraceFixRLGym` to other RL APIs.

Each adapter only translates; rewards, scoring and episode rules stay in the core.

Importing this package registers the Gymnasium environment ``TraceFix-v0`` when Gymnasium is
installed (the ``gym`` extra), so that after ``import tracefix.adapters`` (or directly with
``gymnasium.make("tracefix.adapters:TraceFix-v0")``, which imports it) ``gymnasium.make`` and
Gymnasium's vector environments can build it.
"""

GYMNASIUM_ENV_ID = "TraceFix-v0"


def _register_gymnasium() -> None:
    try:
        import gymnasium
    except ImportError:  # the gym extra is not installed: nothing to register
        return
    if GYMNASIUM_ENV_ID not in gymnasium.registry:
        gymnasium.register(
            id=GYMNASIUM_ENV_ID,
            entry_point="tracefix.adapters.gymnasium_env:TraceFixGymnasiumEnv",
            # The environment ends episodes itself (``truncated`` when its step budget runs out, after
            # evaluating the code), so no TimeLimit wrapper is added.
            max_episode_steps=None,
        )


_register_gymnasium()
