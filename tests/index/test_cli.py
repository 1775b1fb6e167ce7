"""`python -m index` as a person runs it: real processes, real model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from index.search.weights import WEIGHTS_FILE
from tests.conftest import EVAL, SOURCES


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("cli")
    shutil.copytree(SOURCES, root / "sources")
    return {
        **os.environ,
        "QUOTEBOT_INDEX__SOURCES_DIR": str(root / "sources"),
        "QUOTEBOT_INDEX__CACHE_DIR": str(root / "cache"),
    }


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "index", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_search_json_shape(cli_env):
    """`search --json` prints one object per question with exactly the documented keys; the
    coverage is full, partial or none, and `abstained` is true exactly when it is none."""
    done = run(
        cli_env,
        "search",
        "--json",
        "--k",
        "2",
        "Which country supplies Russia with drones?",
        "What is the recipe for pancakes?",
        "What did Xi say about Macron?",
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 3
    answered, abstained, partial = lines
    assert set(answered) == {"query", "abstained", "coverage", "missing", "reason", "hits"}
    assert answered["abstained"] is False and len(answered["hits"]) == 2
    assert (answered["coverage"], answered["missing"], answered["reason"]) == ("full", [], "")
    hit = answered["hits"][0]
    assert set(hit) == {
        "source",
        "paragraph",
        "passage_id",
        "text",
        "highlight",
        "speaker",
        "score",
    }
    assert (hit["source"], hit["paragraph"]) == ("putin-needs-xi", 9)
    assert hit["text"].startswith("Putin is banking on Iran") and hit["highlight"] in hit["text"]
    assert isinstance(hit["score"], float) and hit["speaker"] is None
    assert answered["hits"][0]["score"] >= answered["hits"][1]["score"]
    assert abstained["abstained"] is True and abstained["coverage"] == "none"
    assert abstained["hits"] == [] and abstained["missing"] == [] and abstained["reason"]
    # On topic, but about someone the article never mentions: the closest passages, flagged.
    assert partial["coverage"] == "partial" and partial["abstained"] is False
    assert partial["missing"] == ["Macron"] and len(partial["hits"]) == 2
    assert partial["reason"] == "The article doesn't mention Macron."


def test_build_sources_and_errors(cli_env, tmp_path):
    """`build` says what it built, `sources` is a table, bad input is one line and exit 2."""
    built = run(cli_env, "build")
    assert built.returncode == 0 and "18 paragraphs" in built.stdout
    table = run(cli_env, "sources")
    assert "Why Vladimir Putin needs Xi Jinping now more than ever" in table.stdout
    assert "The Independent" in table.stdout
    empty = run(cli_env, "search", "   ")
    assert empty.returncode == 2
    assert empty.stderr.startswith("error: ") and len(empty.stderr.strip().splitlines()) == 1
    missing = run({**cli_env, "QUOTEBOT_INDEX__SOURCES_DIR": str(tmp_path / "gone")}, "build")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_eval_prints_every_method_and_plots(cli_env, tmp_path):
    """`eval` prints R@1, R@3, MRR and abstention for every method, and draws the plot."""
    plot = tmp_path / "evidence.png"
    done = run(
        cli_env,
        "eval",
        str(EVAL / "dev-questions.jsonl"),
        "--unanswerable",
        str(EVAL / "dev-unanswerable.jsonl"),
        "--plot",
        str(plot),
    )
    assert done.returncode == 0, done.stderr
    rows = {
        cells[0]: cells
        for cells in map(str.split, done.stdout.splitlines())
        if cells and cells[0] in ("learned", "rrf", "dense", "bm25") and cells[1][0].isdigit()
    }
    assert set(rows) == {"learned", "rrf", "dense", "bm25"}
    assert rows["rrf"][4] == "4/4" and rows["rrf"][5] == "0/16"
    assert rows["learned"][4] == "4/4" and float(rows["learned"][1]) >= float(rows["rrf"][1])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_build_logs_nothing_at_the_default_level(cli_env, tmp_path):
    """A first build, then a search on the index it left (loaded from disk), print their results
    at the default level and no library chatter (bm25s logs at DEBUG when it builds, loads and
    retrieves)."""
    env = {**cli_env, "QUOTEBOT_INDEX__CACHE_DIR": str(tmp_path / "fresh")}
    built = run(env, "build")
    assert built.returncode == 0 and "index: added" in built.stdout
    assert built.stderr == ""
    searched = run(env, "search", "What did the report say?")
    assert searched.returncode == 0 and searched.stdout
    assert searched.stderr == ""


def test_add_in_a_new_process_embeds_only_the_new_texts_and_says_what_changed(cli_env, tmp_path):
    """Each command is a new process: after `build`, `add` of a one-paragraph file embeds just
    that paragraph and its two sentences (the rest comes from the on-disk embedding cache), and
    reports only the new source; removing it embeds nothing and reports only the removal.

    A paragraph lacking its token vectors (late interaction) is embedded again, and counted: with
    the built index deleted, a build finds every pooled and token vector in the cache. The cache
    keeps token vectors of the latest build's paragraphs only, so a removed paragraph added back
    is embedded once more (its sentences are not)."""
    sources = tmp_path / "sources"
    shutil.copytree(SOURCES, sources)
    env = {
        **cli_env,
        "QUOTEBOT_INDEX__SOURCES_DIR": str(sources),
        "QUOTEBOT_INDEX__CACHE_DIR": str(tmp_path / "cache"),
    }
    first = run(env, "build")
    assert first.returncode == 0, first.stderr
    assert "index: added: putin-needs-xi; paragraphs +18 / -0; embedded " in first.stdout
    assert ", 0 from the cache" in first.stdout

    bakery = tmp_path / "bakery.md"
    bakery.write_text(
        "---\ntitle: Bakery wins\npublisher: Town News\n---\n\n"
        "The Mill Street bakery won the national bread prize. Its sourdough impressed the judges.\n",
        encoding="utf-8",
    )
    added = run(env, "add", str(bakery))
    assert added.returncode == 0, added.stderr
    assert "index: added: bakery; paragraphs +1 / -0; embedded 3 new texts, " in added.stdout

    (sources / "bakery.md").unlink()
    removed = run(env, "build")
    assert "index: removed: bakery; paragraphs +0 / -1; embedded 0 new texts, " in removed.stdout

    shutil.rmtree(tmp_path / "cache" / "index")
    rebuilt = run(env, "build")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "; embedded 0 new texts, " in rebuilt.stdout

    again = run(env, "add", str(bakery))
    assert "index: added: bakery; paragraphs +1 / -0; embedded 1 new texts, " in again.stdout


def test_train_reproduces_the_committed_weights(cli_env, tmp_path):
    """`train` refits from the bank alone: what it writes is the weights.json in the repo."""
    out = tmp_path / "weights.json"
    done = run(cli_env, "train", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "weights written to" in done.stdout
    fitted = json.loads(out.read_text(encoding="utf-8"))
    committed = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    for name, weight in committed["ranker"].items():
        assert fitted["ranker"][name] == pytest.approx(weight, rel=1e-3, abs=1e-4), name
    for model in ("off_topic", "missing_term", "partial"):
        assert fitted[model]["threshold"] == pytest.approx(committed[model]["threshold"], abs=1e-3)


def test_eval_cv_prints_held_out_figures_against_rrf(cli_env):
    """`eval --cv` prints the per-kind table from held-out folds, learned next to rrf."""
    done = run(cli_env, "eval", "--cv")
    assert done.returncode == 0, done.stderr
    assert "held-out folds only" in done.stdout
    table = [line for line in done.stdout.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    assert header == ["figure", "rrf", "learned", "target"]
    rows = {
        cells[0]: cells
        for cells in ([c.strip() for c in line.strip("|").split("|")] for line in table[2:])
    }
    for figure in (
        "direct R@1 / R@3",
        "paraphrase + casual R@1 / R@3",
        "who R@1 / R@3",
        "number R@1 / R@3",
        "clause R@1 / R@3",
        "near-miss flagged (partial or none)",
        "off-topic abstained",
        "answerable wrongly none",
        "answerable wrongly partial",
    ):
        assert figure in rows
    learned_r1 = float(rows["direct R@1 / R@3"][2].split(" / ")[0])
    rrf_r1 = float(rows["direct R@1 / R@3"][1].split(" / ")[0])
    assert learned_r1 >= rrf_r1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("search", "--k", "-1", "drones?"), "--k"),
        (("search", "--k", "0", "drones?"), "--k"),
        (("search", "--file", "{binary}"), "not UTF-8 text"),
    ],
    ids=["k-negative", "k-zero", "binary-question-file"],
)
def test_bad_search_arguments_are_one_line(cli_env, tmp_path, args, message):
    """A `--k` below 1 (0 included, never silently the default) and a binary --file: one line,
    exit 2, no traceback."""
    binary = tmp_path / "questions.bin"
    binary.write_bytes(bytes(range(256)) * 20)
    done = run(cli_env, *(arg.format(binary=binary) for arg in args))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines


def test_eval_followups_prints_both_kinds_and_held_out_figures(cli_env, tmp_path):
    """`eval-followups` scores the follow-up with and without its context, and under CV."""
    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {
            "first": "Will China give Russia military aid?",
            "followup": "why not?",
            "gold": ["red line it will not cross", "will not compromise"],
            "kind": "followup",
        },
        {
            "first": "Who is David Dalton?",
            "followup": "Why did Putin start the war?",
            "gold": ["the reasons why he started the war"],
            "kind": "new",
        },
    ]
    pairs.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    done = run(cli_env, "eval-followups", str(pairs), "--folds", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("followup  alone     0.000") for line in lines)
    assert "followup  concat    1.000  1.000" in lines
    assert "taken as follow-ups: 0/1 of the 'new' pairs" in lines
    assert any(line.startswith("  held out all") for line in lines)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"first": "x"}\n', encoding="utf-8")
    done = run(cli_env, "eval-followups", str(bad))
    assert done.returncode == 2 and f"{bad}:1" in done.stderr


def _build_files(env: dict[str, str], cache: Path, hash_seed: str) -> dict[str, bytes]:
    """Every file of the build `build` leaves under `cache`, by path, the manifest without the
    time of the build."""
    built = run(
        {**env, "QUOTEBOT_INDEX__CACHE_DIR": str(cache), "PYTHONHASHSEED": hash_seed}, "build"
    )
    assert built.returncode == 0, built.stderr
    folder = cache / "index" / (cache / "index" / "CURRENT").read_text(encoding="utf-8").strip()
    files = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    manifest = json.loads(files.pop("manifest.json"))
    del manifest["built_at"]
    files["manifest.json"] = json.dumps(manifest, sort_keys=True).encode()
    return files


def test_two_builds_of_the_same_sources_are_byte_identical(cli_env, tmp_path):
    """Builds in processes with different string hashes write the same bytes (BM25 vocabularies
    and matrices included), so a rebuild shows no spurious change and an index can be checked
    against another machine's."""
    first = _build_files(cli_env, tmp_path / "first", "1")
    second = _build_files(cli_env, tmp_path / "second", "2")
    assert sorted(first) == sorted(second)
    differing = [name for name in sorted(first) if first[name] != second[name]]
    assert differing == []
