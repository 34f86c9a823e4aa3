"""Property tests of every parser a user feeds (issue 19): whatever the text or the bytes, the
parser answers or raises its own error, a UserError that the CLI prints in one line, never
anything else. Inputs mix the parser's own alphabet (so deep paths are reached) with arbitrary
Unicode and bytes."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from games import GameError, make_game
from games.go import GoGame
from games.go.sgf import SgfError, from_sgf
from selfplay.configio import ConfigError, apply_override, load_config
from selfplay.errors import UserError
from selfplay.evaluation.c4_positions import read_positions
from selfplay.gtp.engine import GTPEngine
from selfplay.llm.config import LLMConfig
from selfplay.llm.tokenizer import CharTokenizer
from selfplay.players import Player, check_spec
from selfplay.training.config import RunConfig

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def as_bytes(text: str) -> bytes:
    """UTF-8, lone surrogates included as the (invalid) bytes they would be: more to parse."""
    return text.encode("utf-8", "surrogatepass")


def near(alphabet: str, max_size: int = 40):
    """Text mostly of ``alphabet``, with any other character now and then."""
    return st.text(st.one_of(st.sampled_from(alphabet), st.characters()), max_size=max_size)


@FUZZ
@given(near("1234567890 \t-+²٣"))
def test_connect_four_moves(text):
    game = make_game("connect4")
    for parse in (game.parse_move, game.state_from_moves):
        try:
            parse(text)
        except GameError:
            pass
    assert all(isinstance(m, str) for m in game.split_moves(text))


@FUZZ
@given(near("ABCDEFGHJKLMNOPQRSTabcdefghjkst0123456789 pasPASSresign"))
def test_go_moves(text):
    for game in (make_game("go", size=7, komi=9.0), make_game("go", size=19, komi=7.5)):
        try:
            action = game.parse_move(text)
            assert 0 <= action < game.num_actions
        except GameError:
            pass


@FUZZ
@given(st.binary(max_size=200) | near("(;)[]BWSZKMABAWPLC:abcdefghijklmnopqrst0123456789\\\n", 120).map(as_bytes))
def test_sgf(data):
    try:
        from_sgf(data, GoGame.for_record)
    except SgfError:
        pass


@FUZZ
@given(near("mcts:sims=800,c=1.5;net:runs/x,random,seed=1,gtp:\"gnugo --mode gtp\"'", 60))
def test_player_specs(text):
    try:
        check_spec(text)
    except UserError:
        pass


class FirstLegal(Player):
    def select_move(self, game, state):
        return int(game.legal_actions(state)[0])


@FUZZ
@given(near("0123456789 abcdefghjklmnopqrstABCDEFGHJK#\t"
            "play genmove boardsize komi clear_board undo name version quit list_commands final_score", 80))
def test_gtp_lines(line):
    engine = GTPEngine(lambda game: FirstLegal(), size=5, komi=0.5)
    response = engine.handle(line)
    assert response is None or (response[:1] in "=?" and response.endswith("\n\n"))


@FUZZ
@given(near("seed=total_steps.network.channels=game.name=connect4 go 1.5 [] {} -", 60))
def test_config_overrides(item):
    try:
        apply_override({}, item)
        load_config(RunConfig, None, [item])
    except UserError:
        pass


@FUZZ
@given(st.binary(max_size=300) | near("seed: 1\ntask:\n  name: addition\nmodel: {}\n[]{}:-'\"\t", 150).map(as_bytes))
def test_config_files(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("cfg") / "config.yaml"
    path.write_bytes(data)
    for config_class in (RunConfig, LLMConfig):
        try:
            load_config(config_class, path)
        except ConfigError:
            pass


@FUZZ
@given(st.binary(max_size=300) | near("1234567 -0123456789\n#", 120).map(as_bytes))
def test_connect_four_positions_files(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("pos") / "positions.txt"
    path.write_bytes(data)
    try:
        read_positions(path)
    except UserError:
        pass


@FUZZ
@given(near("0123456789+*,<ans><eos><pad><bos><sep>", 60))
def test_token_text(text):
    tokenizer = CharTokenizer()
    try:
        ids = tokenizer.encode(text)
        assert tokenizer.decode(ids) == text
    except UserError:
        pass
    game = make_game("tokens", task="addition", digits=2)
    try:
        assert 0 <= game.parse_move(text) < game.num_actions
    except GameError:
        pass
