"""Player specs: parse_spec, including quoted free-form arguments such as GTP command lines."""

import pytest

from selfplay.players import PlayerSpecError, parse_spec


@pytest.mark.parametrize("spec, parsed", [
    ("random", ("random", {})),
    ("MCTS:sims=800, c=1.5", ("mcts", {"sims": "800", "c": "1.5"})),
    ("net:runs/c4,sims=200", ("net", {"": "runs/c4", "sims": "200"})),
    ("gtp:gnugo --mode gtp --level 10", ("gtp", {"": "gnugo --mode gtp --level 10"})),
    ('gtp:"gnugo --mode gtp --level 10"', ("gtp", {"": "gnugo --mode gtp --level 10"})),
    ('gtp:"katago gtp -override-config a=1,b=2",timeout=60',
     ("gtp", {"": "katago gtp -override-config a=1,b=2", "timeout": "60"})),
    ("gtp: 'engine --x=1, --y'", ("gtp", {"": "engine --x=1, --y"})),
    ('gtp:"a b",', ("gtp", {"": "a b"})),
])
def test_parse_spec(spec, parsed):
    assert parse_spec(spec) == parsed


@pytest.mark.parametrize("spec, message", [
    ("", "empty player spec"),
    ('gtp:"gnugo --mode gtp', "never closed"),
    ('gtp:"gnugo" --level 3', "expected ','"),
    ("mcts:sims=1,sims=2", "repeated option 'sims'"),
    ("mcts:sims=1,oops", "'oops' is not key=value"),
    ('gtp:"x",=3', "empty or repeated option"),
])
def test_bad_specs(spec, message):
    with pytest.raises(PlayerSpecError, match=message):
        parse_spec(spec)
