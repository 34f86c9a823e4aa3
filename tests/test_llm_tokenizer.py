import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfplay.llm.tokenizer import ALPHABET, SPECIALS, CharTokenizer, TokenizerError

TOK = CharTokenizer()
PIECES = st.lists(st.sampled_from([*SPECIALS, *ALPHABET]), max_size=40)


@given(PIECES)
def test_text_round_trip(pieces):
    text = "".join(pieces)
    ids = TOK.encode(text)
    assert len(ids) == len(pieces)  # one token per special and per character
    assert TOK.decode(ids) == text


@given(st.lists(st.integers(0, TOK.vocab_size - 1), max_size=40))
def test_id_round_trip(ids):
    assert TOK.encode(TOK.decode(ids)) == ids


def test_special_ids_are_distinct_and_first():
    ids = [TOK.pad_id, TOK.bos_id, TOK.eos_id, TOK.sep_id, TOK.ans_id]
    assert sorted(ids) == list(range(len(SPECIALS)))
    assert [TOK.vocab[i] for i in ids] == ["<pad>", "<bos>", "<eos>", "<sep>", "<ans>"]


def test_prompt_and_response_framing():
    assert TOK.decode(TOK.prompt_ids("12+3")) == "<bos>12+3<sep>"
    assert TOK.decode(TOK.response_ids("50,10<ans>15")) == "50,10<ans>15<eos>"


def test_response_text_stops_after_eos_and_drops_padding():
    ids = TOK.encode("<ans>15<eos>") + [TOK.pad_id] * 3
    assert TOK.response_text(ids) == "<ans>15<eos>"
    assert TOK.response_text(TOK.encode("<ans>15")) == "<ans>15"  # cut off: no <eos>
    assert TOK.response_text(TOK.encode("<ans>1<eos>5<eos>")) == "<ans>1<eos>"


@pytest.mark.parametrize("text", ["12-3", "a", "<unk>", "1 2"])
def test_unknown_text_is_a_clear_error(text):
    with pytest.raises(TokenizerError, match="cannot encode"):
        TOK.encode(text)


def test_unknown_id_is_a_clear_error():
    with pytest.raises(TokenizerError, match="outside the vocabulary"):
        TOK.decode([TOK.vocab_size])
