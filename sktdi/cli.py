"""The ``sktdi`` command line."""

import argparse
import sys

__all__ = ["main"]


def _cmd_demo(args):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    from .datasets import load_digits_sequences
    from .estimators import SSMClassifier

    X, y = load_digits_sequences()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.random_state
    )
    clf = SSMClassifier(max_iter=args.max_iter, device=args.device,
                        random_state=args.random_state, verbose=args.verbose)
    ssm_score = clf.fit(X_train, y_train).score(X_test, y_test)
    baseline = LogisticRegression(max_iter=2000).fit(X_train, y_train).score(X_test, y_test)
    print(f"digits as length-64 sequences: {len(X_train)} train / {len(X_test)} test")
    print(f"  SSMClassifier (S4D-Lin)  test accuracy = {ssm_score:.4f}  ({clf.n_iter_} epochs)")
    print(f"  LogisticRegression       test accuracy = {baseline:.4f}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sktdi",
        description="State space models with task-dependent initialization.",
    )
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="train an SSMClassifier on the bundled digits")
    demo.add_argument("--max-iter", type=int, default=100)
    demo.add_argument("--device", default="auto")
    demo.add_argument("--random-state", type=int, default=0)
    demo.add_argument("--verbose", action="store_true")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["demo", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)
