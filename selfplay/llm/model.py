"""TokenPolicyValueModel: PolicyValueNet's contract per token position.

    tokens [B, T] -> (next-token logits [B, T, V], values [B, T])

A nanoGPT-sized causal transformer (learned positions, pre-norm blocks, GELU MLP, the LM head
tied to the token embedding). The LM head is the policy: the state is the prompt plus the
tokens so far, the action the next token. The value head reads the same hidden state: with
``value_activation: tanh`` it is in [-1, 1] like PolicyValueNet's (the expected final reward
from that position on, for MCTS over tokens); with ``none`` it is unbounded, for PPO's critic.

Padding: training batches are right-padded (causal attention never looks right, so nothing is
masked). Sampling batches are left-padded, so every row's next token sits in the last column:
``key_mask`` marks real tokens, positions count real tokens only, and a ``KVCache`` keeps
every layer's keys and values so each new token costs one column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from selfplay.configio import from_dict, require


@dataclass
class ModelConfig:
    layers: int = 4
    heads: int = 4
    dim: int = 128
    context: int = 24                                  # longest prompt + response, in tokens
    value_activation: Literal["tanh", "none"] = "tanh"

    def validate(self):
        require(self.layers >= 1 and self.heads >= 1, "layers and heads must be positive")
        require(self.dim >= 1 and self.dim % self.heads == 0,
                f"dim ({self.dim}) must be a positive multiple of heads ({self.heads})")
        require(self.context >= 2, "context must be at least 2")


class KVCache:
    """Keys and values of every layer for a batch of sequences, preallocated to ``capacity``."""

    def __init__(self, config: ModelConfig, batch: int, capacity: int, device, dtype=torch.float32):
        shape = (config.layers, batch, config.heads, capacity, config.dim // config.heads)
        self.keys = torch.zeros(shape, device=device, dtype=dtype)
        self.values = torch.zeros(shape, device=device, dtype=dtype)
        self.length = 0

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store this layer's new columns; return all keys and values so far."""
        end = self.length + k.shape[2]
        self.keys[layer, :, :, self.length:end] = k
        self.values[layer, :, :, self.length:end] = v
        return self.keys[layer, :, :, :end], self.values[layer, :, :, :end]


class SelfAttention(nn.Module):
    def __init__(self, config: ModelConfig, index: int):
        super().__init__()
        self.heads, self.index = config.heads, index
        self.qkv = nn.Linear(config.dim, 3 * config.dim)
        self.out = nn.Linear(config.dim, config.dim)

    def forward(self, x, mask, cache: KVCache | None):
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if cache is not None:
            k, v = cache.append(self.index, k, v)
        if mask is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, config: ModelConfig, index: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(config.dim)
        self.attn = SelfAttention(config, index)
        self.norm2 = nn.LayerNorm(config.dim)
        self.mlp = nn.Sequential(nn.Linear(config.dim, 4 * config.dim), nn.GELU(),
                                 nn.Linear(4 * config.dim, config.dim))

    def forward(self, x, mask, cache):
        x = x + self.attn(self.norm1(x), mask, cache)
        return x + self.mlp(self.norm2(x))


class TokenPolicyValueModel(nn.Module):
    def __init__(self, vocab_size: int, config: ModelConfig = ModelConfig()):
        super().__init__()
        self.config = config
        self.vocab_size = vocab_size
        self.token_embedding = nn.Embedding(vocab_size, config.dim)
        self.position_embedding = nn.Embedding(config.context, config.dim)
        self.blocks = nn.ModuleList(Block(config, i) for i in range(config.layers))
        self.norm = nn.LayerNorm(config.dim)
        self.lm_head = nn.Linear(config.dim, vocab_size, bias=False)
        self.lm_head.weight = self.token_embedding.weight
        self.value_head = nn.Linear(config.dim, 1)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2's scaled init of the residual projections
            if name.endswith("out.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * config.layers))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, 0.0, 0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, tokens: torch.Tensor, positions: torch.Tensor | None = None,
                key_mask: torch.Tensor | None = None, cache: KVCache | None = None):
        """Logits [B, T, V] and values [B, T] at every position of ``tokens``.

        Without ``key_mask`` the rows are plain (right-padded) sequences from position 0. With
        it (``[B, cache length + T]``, True on real tokens) the rows are left-padded and
        ``positions`` ([B, T]) must be given; with ``cache`` the tokens are the next columns
        after those already cached.
        """
        b, t = tokens.shape
        past = cache.length if cache is not None else 0
        if past + t > self.config.context:
            raise ValueError(f"sequence of {past + t} tokens exceeds the model's context of {self.config.context}")
        if positions is None:
            positions = torch.arange(past, past + t, device=tokens.device).expand(b, t)
        mask = None
        if key_mask is not None:
            mask = attention_mask(key_mask, past, t)
        elif cache is not None and past > 0:
            mask = attention_mask(torch.ones(b, past + t, dtype=torch.bool, device=tokens.device), past, t)
        x = self.token_embedding(tokens) + self.position_embedding(positions)
        for block in self.blocks:
            x = block(x, mask, cache)
        if cache is not None:
            cache.length += t
        x = self.norm(x)
        values = self.value_head(x).squeeze(-1)
        if self.config.value_activation == "tanh":
            values = torch.tanh(values)
        return self.lm_head(x), values

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def attention_mask(key_mask: torch.Tensor, past: int, t: int) -> torch.Tensor:
    """[B, 1, t, past + t] booleans: query i (column past + i) sees real keys at or before it,
    and always itself, so a padding query's row is never empty (its output is ignored)."""
    total = past + t
    query_columns = torch.arange(past, total, device=key_mask.device)
    causal = torch.arange(total, device=key_mask.device)[None, :] <= query_columns[:, None]
    diagonal = torch.arange(total, device=key_mask.device)[None, :] == query_columns[:, None]
    return ((causal[None] & key_mask[:, None, :]) | diagonal[None])[:, None]


def model_from_payload(payload: dict, device="cpu") -> TokenPolicyValueModel:
    """Rebuild a model from a checkpoint written by sft or grpo (see selfplay/llm/run.py)."""
    config = from_dict(ModelConfig, payload["model_config"], "checkpoint model_config")
    model = TokenPolicyValueModel(len(payload["vocab"]), config)
    model.load_state_dict(payload["model"])
    return model.to(device)
