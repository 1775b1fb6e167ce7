"""The index's command line. The model is loaded once per invocation, whatever the command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from pathlib import Path
from typing import Any, NoReturn

from index import _atomic
from index.config import PROJECT_ROOT, IndexSettings, load_index_settings
from index.crossval import held_out, report, rrf_outcomes
from index.errors import QuotebotError
from index.evaluation import evaluate, load_questions, plot_evidence
from index.followup_eval import KINDS, cross_validate, load_pairs, recall, run_pairs
from index.ingest.fetch import add_source
from index.logs import configure_logging
from index.models import Answer
from index.retriever import Retriever
from index.search.followups import STRATEGIES
from index.search.rank import METHODS
from index.search.weights import WEIGHTS_FILE, Weights
from index.training import FOLDS, examples, fit_weights, load_bank

log = logging.getLogger(__name__)


def answer_json(answer: Answer) -> dict[str, Any]:
    """The `search --json` line: exactly the documented keys, hits in rank order."""
    return {
        "query": answer.query,
        "abstained": answer.abstained,
        "coverage": answer.coverage,
        "missing": list(answer.missing),
        "reason": answer.reason,
        "hits": [
            {
                "source": hit.passage.source_id,
                "paragraph": hit.passage.number,
                "passage_id": hit.passage.id,
                "text": hit.passage.text,
                "highlight": hit.highlight,
                "speaker": hit.passage.speaker.name if hit.passage.speaker else None,
                "score": hit.score,
            }
            for hit in answer.hits
        ],
    }


def _print_answer(answer: Answer) -> None:
    print(f"? {answer.query}")
    if answer.abstained:
        print(
            f"  (nothing answers this; best evidence {answer.evidence:.2f} < {answer.threshold:.2f})"
        )
        return
    if answer.coverage == "partial":
        print(f"  {answer.reason} Closest:")
    for rank, hit in enumerate(answer.hits, 1):
        speaker = f" — {hit.passage.speaker.label}" if hit.passage.speaker else ""
        print(f"  {rank}. [{hit.passage.source_id} ¶{hit.passage.number}]{speaker}")
        print(f"     » {hit.highlight}")


def _open(settings: IndexSettings) -> Retriever:
    return Retriever(settings)


def cmd_build(args: argparse.Namespace, settings: IndexSettings) -> int:
    retriever = _open(settings)
    data = retriever.data
    report = retriever.last_report
    state = report.summary if report.rebuilt else "up to date, loaded from cache"
    print(f"index: {state}")
    print(
        f"{len(data.sources)} source(s), {len(data.passages)} paragraphs, "
        f"{len(data.sentence_owner)} sentences; model {data.model} ({data.dimension} dims), "
        f"questions encoded by {settings.backend}, passages by {settings.passage_backend}; FAISS {type(data.paragraph_index).__name__}; "
        f"cache {settings.cache_dir}"
    )
    return 0


def cmd_sources(args: argparse.Namespace, settings: IndexSettings) -> int:
    retriever = _open(settings)
    rows = [("id", "title", "publisher", "paragraphs")] + [
        (s.id, s.title, s.publisher or "-", str(s.paragraph_count)) for s in retriever.sources
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_search(args: argparse.Namespace, settings: IndexSettings) -> int:
    questions = list(args.question)
    if args.file:
        try:
            lines = Path(args.file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise QuotebotError(f"cannot read {args.file} ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise QuotebotError(
                f"{args.file} is not UTF-8 text: give a text file with one question per line"
            ) from None
        questions += [line for line in lines if line.strip()]
    if not questions:
        raise QuotebotError("no question given: pass one as an argument or use --file FILE")
    retriever = _open(settings)
    answers = retriever.search_many(questions, k=args.k, source=args.source, method=args.method)
    for answer in answers:
        if args.json:
            print(json.dumps(answer_json(answer), ensure_ascii=False))
        else:
            _print_answer(answer)
    return 0


def cmd_train(args: argparse.Namespace, settings: IndexSettings) -> int:
    retriever = Retriever(settings, weights=Weights.untrained())
    bank = load_bank(Path(args.bank))
    weights = fit_weights(examples(retriever, bank), retriever.data)
    out = Path(args.out)
    _atomic.write_text(out, weights.to_json())
    print(f"fitted on {len(bank)} questions of {args.bank}; weights written to {out}")
    print("ranker: " + ", ".join(f"{k} {v:+.2f}" for k, v in weights.ranker.items()))
    print(
        f"off-topic above p {weights.off_topic.threshold:.3f}; "
        f"missing word above p {weights.missing_term.threshold:.3f}"
    )
    return 0


def cmd_eval_cv(args: argparse.Namespace, settings: IndexSettings) -> int:
    retriever = Retriever(settings, weights=Weights.untrained())
    bank = load_bank(Path(args.bank))
    counts = Counter(q.kind for q in bank)
    print(
        f"{len(bank)} questions of {args.bank} ("
        + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        + f"); {FOLDS}-fold cross-validation grouped by paragraph, held-out folds only"
    )
    learned = held_out(retriever, examples(retriever, bank))
    print(report({"rrf": rrf_outcomes(retriever, bank), "learned": learned}))
    return 0


def cmd_eval(args: argparse.Namespace, settings: IndexSettings) -> int:
    if args.cv:
        return cmd_eval_cv(args, settings)
    if not args.file:
        raise QuotebotError("give a JSONL file of questions, or --cv to cross-validate on the bank")
    answerable = load_questions(Path(args.file))
    unanswerable = load_questions(Path(args.unanswerable)) if args.unanswerable else []
    retriever = _open(settings)
    methods = [args.method] if args.method else list(METHODS)
    print(f"{len(answerable)} answerable, {len(unanswerable)} unanswerable questions")
    print(
        f"{'method':<8} {'R@1':>6} {'R@3':>6} {'MRR@5':>6} {'abstain ok':>11} {'false abst.':>11}"
    )
    reports = []
    for method in methods:
        report = evaluate(retriever, answerable, unanswerable, method)
        reports.append(report)
        print(
            f"{method:<8} {report.recall_at_1:>6.3f} {report.recall_at_3:>6.3f} "
            f"{report.mrr_at_5:>6.3f} {report.abstained_correctly:>5}/{report.unanswerable:<5} "
            f"{report.false_abstentions:>5}/{report.answerable:<5}"
        )
    for report in reports:
        if report.answerable_evidence and report.method in ("learned", "rrf"):
            print(
                f"{report.method} evidence: answerable min {min(report.answerable_evidence):.3f}"
                + (
                    f", unanswerable max {max(report.unanswerable_evidence):.3f}"
                    if report.unanswerable_evidence
                    else ""
                )
                + f"; threshold {report.threshold:.3f}"
                + (
                    f" (the set supports {report.suggested_threshold:.3f})"
                    if report.suggested_threshold is not None
                    else " (the sets overlap: no threshold separates them)"
                )
            )
    for report in reports:
        for miss in report.misses:
            print(f"  {report.method} missed at rank 1: {miss}")
    if args.plot:
        plot_evidence(reports[0], reports[0].threshold, Path(args.plot))
        print(f"plot written to {args.plot}")
    return 0


def cmd_eval_followups(args: argparse.Namespace, settings: IndexSettings) -> int:
    pairs = load_pairs(Path(args.file))
    results = run_pairs(_open(settings), pairs)
    counts = {kind: sum(r.pair.kind == kind for r in results) for kind in KINDS}
    print(f"{len(pairs)} pairs: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    print(f"{'kind':<9} {'strategy':<8} {'R@1':>6} {'R@3':>6}")
    for kind in (*KINDS, "all"):
        subset = [r for r in results if kind in (r.pair.kind, "all")]
        if not subset:
            continue
        for strategy in STRATEGIES:
            figures = recall(subset, strategy)
            print(f"{kind:<9} {strategy:<8} {figures.at_1:>6.3f} {figures.at_3:>6.3f}")
    for kind in KINDS:
        subset = [r for r in results if r.pair.kind == kind]
        taken = sum(r.detected for r in subset)
        print(f"taken as follow-ups: {taken}/{len(subset)} of the {kind!r} pairs")
    chosen, held_out = cross_validate(results, folds=args.folds)
    print(f"grouped {args.folds}-fold CV, strategy chosen per fold: {', '.join(chosen)}")
    for kind, figures in held_out.items():
        print(
            f"  held out {kind:<9} R@1 {figures.at_1:.3f}  R@3 {figures.at_3:.3f}  (n={figures.n})"
        )
    if args.misses:
        for r in results:
            if r.ranks["resolve"] != 1:
                print(
                    f"  missed ({r.pair.kind}): {r.pair.first!r} -> {r.pair.followup!r}: {r.ranks}"
                )
    return 0


def cmd_add(args: argparse.Namespace, settings: IndexSettings) -> int:
    added = add_source(args.target, settings)
    if added is None:
        print(f"{args.target} is already in {settings.sources_dir}: nothing to add")
        return 0
    source = added.source
    print(
        f"added {source.id!r} ({source.title}, {source.paragraph_count} paragraphs) as {added.path}"
    )
    retriever = _open(settings)
    print(f"index: {retriever.last_report.summary}; a running bot picks it up with /reload")
    return 0


def _bank_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bank", default=str(PROJECT_ROOT / "eval"), help="folder of bank-*.jsonl (default eval/)"
    )


class _Parser(argparse.ArgumentParser):
    """Usage mistakes as one line that points at --help, with the same exit code as other errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}: see {self.prog} --help\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m index", description=__doc__)
    parser.add_argument("--config", type=Path, help="TOML config (default config/quotebot.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("build", help="load or (re)build the index and say what was built")
    sub.add_parser("sources", help="list the sources as a table")

    search = sub.add_parser("search", help="search the article(s)")
    search.add_argument("question", nargs="*", help="question(s) to ask")
    search.add_argument(
        "--k", type=_positive_int, default=None, help="number of paragraphs (default: config)"
    )
    search.add_argument("--json", action="store_true", help="one JSON object per question")
    search.add_argument("--file", help="read questions from a file, one per line")
    search.add_argument("--source", help="search only this source id")
    search.add_argument("--method", choices=METHODS, default="learned")

    add = sub.add_parser("add", help="copy a file or download a page into the sources, rebuild")
    add.add_argument("target", help="a .txt/.md/.html path or an http(s) URL")

    ev = sub.add_parser("eval", help="measure recall, MRR and abstention on a question set")
    ev.add_argument("file", nargs="?", help="JSONL of answerable questions with gold phrases")
    ev.add_argument(
        "--cv",
        action="store_true",
        help="per-kind figures on the question bank from held-out folds, learned against rrf",
    )
    _bank_argument(ev)
    ev.add_argument("--unanswerable", help="JSONL of questions the article does not answer")
    ev.add_argument("--method", choices=METHODS, help="one method (default: all)")
    ev.add_argument("--plot", help="write a PNG of both evidence distributions")
    train = sub.add_parser(
        "train", help="fit the learned ranking and coverage on the question bank"
    )
    _bank_argument(train)
    train.add_argument("--out", default=str(WEIGHTS_FILE), help="where to write the weights JSON")

    fu = sub.add_parser(
        "eval-followups", help="measure follow-up questions with and without their context"
    )
    fu.add_argument("file", help='JSONL of {"first", "followup", "gold", "kind"} pairs')
    fu.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    fu.add_argument("--misses", action="store_true", help="list pairs not answered at rank 1")
    return parser


COMMANDS = {
    "build": cmd_build,
    "sources": cmd_sources,
    "search": cmd_search,
    "eval": cmd_eval,
    "eval-followups": cmd_eval_followups,
    "add": cmd_add,
    "train": cmd_train,
}


def main(argv: list[str] | None = None) -> int:
    """Run one command; domain errors become one line on stderr and exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        # Set up before the config is read (its errors are logged), then again as it says.
        configure_logging(None, verbose=args.verbose, default="WARNING")
        settings, log_settings = load_index_settings(args.config)
        configure_logging(log_settings, verbose=args.verbose, default="WARNING")
        return COMMANDS[args.command](args, settings)
    except QuotebotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
