"""A fake GTP engine for the tests: enough of GTP 2 to drive the client, plus switches that
make it misbehave on purpose (hang, crash, garbage, refusals). Standard library only, so it
starts fast. Run: python fake_gtp_engine.py [--moves d4,c3,pass] [--hang-on genmove] ..."""

import argparse
import signal
import sys
import time

COMMANDS = ["protocol_version", "name", "version", "known_command", "list_commands", "boardsize", "komi",
            "clear_board", "play", "genmove", "final_score", "quit"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--moves", default="", help="comma-separated replies to genmove, then pass forever")
    parser.add_argument("--hang-on", default="", help="never answer this command (from its n-th time: CMD:N)")
    parser.add_argument("--crash-on", default="", help="exit with status 3 on this command (its n-th time: CMD:N)")
    parser.add_argument("--garbage-on", default="", help="answer this command with a line that is not GTP")
    parser.add_argument("--no-ids", action="store_true", help="answer without the command ids")
    parser.add_argument("--crlf", action="store_true", help="end lines with CR LF and add a stray empty line")
    parser.add_argument("--ignore-quit", action="store_true", help="ignore quit, SIGTERM and end of input")
    parser.add_argument("--score", default="B+1.5")
    parser.add_argument("--log", default="", help="append every command received to this file")
    args = parser.parse_args()
    if args.ignore_quit:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    moves = [m for m in args.moves.split(",") if m]
    crash_command, _, crash_count = args.crash_on.partition(":")
    crash_count = int(crash_count or 1)
    hang_command, _, hang_count = args.hang_on.partition(":")
    hang_count = int(hang_count or 1)
    stones, seen = {}, {}
    while True:
        line = sys.stdin.readline()
        if not line:
            if args.ignore_quit:
                while True:
                    time.sleep(1)
            return
        if args.log:
            with open(args.log, "a") as f:
                f.write(line)
        parts = line.split()
        if not parts:
            continue
        ident = ""
        if parts[0].isdigit():
            ident, parts = parts[0], parts[1:]
        if args.no_ids:
            ident = ""
        command, arguments = parts[0], parts[1:]
        seen[command] = seen.get(command, 0) + 1

        def reply(text, ok=True, ident=ident):
            response = f"{'=' if ok else '?'}{ident} {text}\n\n"
            if args.crlf:
                response = response.replace("\n", "\r\n") + "\r\n"
            sys.stdout.write(response)
            sys.stdout.flush()

        if command == hang_command and seen[command] >= hang_count:
            while True:
                time.sleep(1)
        if command == crash_command and seen[command] == crash_count:
            sys.stderr.write("fake engine: simulated crash\n")
            sys.exit(3)
        if command == args.garbage_on:
            sys.stdout.write("this is not GTP\n\n")
            sys.stdout.flush()
            continue
        if command == "protocol_version":
            reply("2")
        elif command == "name":
            reply("Fake Engine")
        elif command == "version":
            reply("0.1")
        elif command == "known_command":
            reply("true" if arguments and arguments[0] in COMMANDS else "false")
        elif command == "list_commands":
            reply("\n".join(COMMANDS))
        elif command == "boardsize":
            if not arguments or not arguments[0].isdigit():
                reply("syntax error", ok=False)
            elif not 2 <= int(arguments[0]) <= 25:
                reply("unacceptable size", ok=False)
            else:
                stones = {}
                reply("")
        elif command == "komi":
            try:
                float(arguments[0])
                reply("")
            except (IndexError, ValueError):
                reply("syntax error", ok=False)
        elif command == "clear_board":
            stones = {}
            reply("")
        elif command == "play":
            if len(arguments) != 2:
                reply("syntax error", ok=False)
            elif arguments[1].lower() != "pass" and arguments[1].lower() in stones:
                reply("illegal move", ok=False)
            else:
                if arguments[1].lower() != "pass":
                    stones[arguments[1].lower()] = arguments[0]
                reply("")
        elif command == "genmove":
            while moves and moves[0].lower() in stones:  # skip scripted moves on occupied points
                moves.pop(0)
            move = moves.pop(0) if moves else "pass"
            if move.lower() not in ("pass", "resign"):
                stones[move.lower()] = arguments[0] if arguments else "b"
            reply(move)
        elif command == "final_score":
            reply(args.score)
        elif command == "quit":
            if args.ignore_quit:
                continue
            reply("")
            return
        else:
            reply("unknown command", ok=False)


if __name__ == "__main__":
    main()
