"""A stand-in for the sampler (selfplay.llm.sampling.generate) whose responses the tests know:
shared by the GRPO and PPO tests of the penalty for a response without EOS."""

import torch


def every_other_finishes(setting):
    """generate(...) whose even rows write "1" then EOS (then PAD), odd rows "1" to the length cap."""
    tok, width = setting.tokenizer, setting.task.max_response_tokens()

    def scripted(model, prompts, max_new_tokens, pad, eos, **kwargs):
        rows = [[tok.encode("1")[0]] * width for _ in prompts]
        for i in range(0, len(rows), 2):
            rows[i][2:] = [eos] + [pad] * (width - 3)
        return torch.tensor(rows)

    return scripted
