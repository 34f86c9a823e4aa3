"""A character-level tokenizer with special tokens, shared by every task (one vocabulary, so a
checkpoint trained on one task can be read by any command).

Special tokens are written ``<bos>``, ``<eos>``, ``<pad>``, ``<sep>`` (between prompt and
response) and ``<ans>`` (the answer marker: the verifier reads what follows it). Every other
token is one character of ``ALPHABET``. ``decode(encode(text)) == text`` for any text made of
those pieces, and ``encode(decode(ids)) == ids`` for any ids in the vocabulary.
"""

from __future__ import annotations

import re

from games.tokens import ALPHABET, SPECIALS  # one vocabulary for the model and the token game
from selfplay.errors import UserError

NOT_IN_RESPONSE = ("<pad>", "<bos>", "<sep>")  # never legal inside a response: the sampler masks them
_PIECE = re.compile(r"<[a-z]+>|.", re.DOTALL)


class TokenizerError(UserError):
    """Text with a character outside the alphabet, or an id outside the vocabulary."""


class CharTokenizer:
    def __init__(self, alphabet: str = ALPHABET):
        if len(set(alphabet)) != len(alphabet) or "<" in alphabet:
            raise TokenizerError(f"alphabet {alphabet!r} repeats a character or holds '<'")
        self.vocab: list[str] = [*SPECIALS, *alphabet]
        self._ids = {piece: i for i, piece in enumerate(self.vocab)}
        self.pad_id, self.bos_id, self.eos_id, self.sep_id, self.ans_id = range(len(SPECIALS))
        self.not_in_response_ids = tuple(self._ids[piece] for piece in NOT_IN_RESPONSE)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        ids = []
        for piece in _PIECE.findall(text):
            if piece not in self._ids:
                raise TokenizerError(f"cannot encode {piece!r} in {text!r}: the alphabet is "
                                     f"{''.join(self.vocab[len(SPECIALS):])!r} plus {', '.join(SPECIALS)}")
            ids.append(self._ids[piece])
        return ids

    def decode(self, ids) -> str:
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.vocab):
                raise TokenizerError(f"token id {i} is outside the vocabulary of {len(self.vocab)}")
            out.append(self.vocab[i])
        return "".join(out)

    def prompt_ids(self, prompt: str) -> list[int]:
        """``<bos> prompt <sep>``: what the model is conditioned on."""
        return [self.bos_id, *self.encode(prompt), self.sep_id]

    def response_ids(self, response: str) -> list[int]:
        """``response <eos>``: what the model is trained to write."""
        return [*self.encode(response), self.eos_id]

    def response_text(self, ids) -> str:
        """The text of sampled response ids up to and including the first EOS (what follows it,
        the padding of batching, is dropped); a response cut off before its EOS has none, and
        the verifier rejects it. A PAD before the EOS stays in the text as ``<pad>`` (the
        verifier rejects it too); trailing PAD of a response cut off without EOS is dropped."""
        ids = [int(i) for i in ids]
        if self.eos_id in ids:
            return self.decode(ids[:ids.index(self.eos_id) + 1])
        while ids and ids[-1] == self.pad_id:
            ids.pop()
        return self.decode(ids)
