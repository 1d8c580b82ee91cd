"""A tiny causal LM and tokenizer made on the spot, for CPU smoke tests of training (no model hub).

The tokenizer is a byte-level BPE trained in a fraction of a second on TraceFix's own prompts, with
the Qwen2.5 chat template that TRL ships (so TRL knows how to parse its tool calls).  Each complete
tool call the smoke test wants to see is one added token, so that a randomly initialised model,
nudged by a generation-time ``sequence_bias``, emits real tool calls that TRL parses and runs.
"""

from __future__ import annotations

import json
from typing import Iterable

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def tool_call_text(name: str, arguments: dict | None = None) -> str:
    """A tool call exactly as the Qwen2.5 template renders it."""
    return f'<tool_call>\n{{"name": "{name}", "arguments": {json.dumps(arguments or {})}}}\n</tool_call>'


def build_tokenizer(corpus: Iterable[str], tool_calls: Iterable[str], vocab_size: int = 800):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    from trl.chat_template_utils import qwen2_5_chat_template

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(list(corpus), trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.add_tokens(["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", *tool_calls])
    tokenizer.chat_template = qwen2_5_chat_template
    tokenizer.padding_side = "left"
    return tokenizer


def build_model(vocab_size: int, seed: int = 0):
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=16384, tie_word_embeddings=True,
    )
    return Qwen2ForCausalLM(config)
