"""`reportqa eval`: runs the question set through the real pipeline and three baselines, prints tables,
writes eval/results/<timestamp>.json and .md, and gates on a saved baseline."""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from assistant.errors import USER_ERRORS
from assistant.evaluation import metrics as m
from assistant.ingest.loading import discover, load_document
from assistant.records import Chunk, Passage, content_hash
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.qa import ReportQA

TYPES = ("fact", "target", "list", "multi", "compare", "target_actual", "series", "reason", "followup", "unanswerable")
SPLITS = ("dev", "test")
HIGHER_IS_BETTER = ("recall_at_k", "mrr", "answer_accuracy", "citation_precision", "refusal_rate")
LOWER_IS_BETTER = ("false_refusal_rate",)
TOLERANCE = 0.02


@dataclass
class Item:
    id: str
    question: str
    answers: list[str]
    type: str
    source: str | None = None
    evidence: str | None = None
    source2: str | None = None
    evidence2: str | None = None
    history: list[str] = field(default_factory=list)
    city: str | None = None
    entity: str | None = None
    year: int | None = None
    split: str | None = None  # dev (tune on it) or test (report it), assigned by report
    sources: list[str] = field(default_factory=list)  # a series: one (source, evidence) per answer
    evidences: list[str] = field(default_factory=list)
    relation: dict[str, Any] | None = None  # which side is higher ({"higher", "lower"} or {"equal"})


def load_items(path: Path) -> list[Item]:
    return m.jsonl_records(path, lambda raw: Item(**{k: v for k, v in raw.items() if k in Item.__dataclass_fields__}),
                           "question record")


@dataclass
class Outcome:
    item: Item
    passages: list[tuple[str, int, int, str]]  # (source, start, end, text)
    answer: str
    refused: bool
    citation_texts: dict[int, str]
    latency_ms: float
    context_chars: int


def evidence_spans(item: Item, texts: dict[str, str]) -> list[tuple[str, int, int]]:
    spans = []
    for src, ev in ((item.source, item.evidence), (item.source2, item.evidence2), *zip(item.sources, item.evidences, strict=False)):
        if src and ev and src in texts:
            pos = texts[src].find(ev)
            if pos >= 0:
                spans.append((src, pos, pos + len(ev)))
    return spans


def score(outcomes: list[Outcome], texts: dict[str, str]) -> dict[str, Any]:
    """Overall and per-type metrics, plus per-item scores."""
    per_item = []
    for o in outcomes:
        it = o.item
        answerable = it.type != "unanswerable"
        spans = evidence_spans(it, texts)
        rel = [any(esrc == psrc and m.overlaps((a, b), (ps, pe)) for esrc, a, b in spans) for psrc, ps, pe, _ in o.passages]
        row: dict[str, Any] = {"id": it.id, "type": it.type, "split": it.split, "latency_ms": o.latency_ms, "context_chars": o.context_chars,
                               "refused": o.refused}
        if answerable:
            row["recall_at_k"] = m.answer_recall(it.answers, [t for *_, t in o.passages])
            row["mrr"] = m.reciprocal_rank(rel)
            row["answer_accuracy"] = 0.0 if o.refused else m.answer_correct(it.answers, o.answer)
            row["false_refusal"] = 1.0 if o.refused else 0.0
            if it.relation:
                row["relation"] = 0.0 if o.refused else m.relation_correct(o.answer, it.relation)
            if not o.refused:
                cp = m.citation_precision(o.answer, o.citation_texts)
                if cp is not None:
                    row["citation_precision"] = cp
        else:
            row["refusal"] = 1.0 if o.refused else 0.0
        per_item.append(row)

    def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
        lat = [r["latency_ms"] for r in rows]
        return {
            "n": len(rows),
            "n_answerable": sum(1 for r in rows if r["type"] != "unanswerable"),
            "n_unanswerable": sum(1 for r in rows if r["type"] == "unanswerable"),
            "recall_at_k": m.mean([r["recall_at_k"] for r in rows if "recall_at_k" in r]),
            "mrr": m.mean([r["mrr"] for r in rows if "mrr" in r]),
            "context_chars": m.mean([r["context_chars"] for r in rows]),
            "answer_accuracy": m.mean([r["answer_accuracy"] for r in rows if "answer_accuracy" in r]),
            "citation_precision": m.mean([r["citation_precision"] for r in rows if "citation_precision" in r]),
            "refusal_rate": m.mean([r["refusal"] for r in rows if "refusal" in r]),
            "false_refusal_rate": m.mean([r["false_refusal"] for r in rows if "false_refusal" in r]),
            "relation_accuracy": m.mean([r["relation"] for r in rows if "relation" in r]),
            "latency_p50_ms": m.percentile(lat, 50),
            "latency_p95_ms": m.percentile(lat, 95),
        }

    by_type = {t: summarize([r for r in per_item if r["type"] == t]) for t in TYPES if any(r["type"] == t for r in per_item)}
    by_split = {sp: summarize([r for r in per_item if r["split"] == sp]) for sp in SPLITS
                if any(r["split"] == sp for r in per_item)}
    return {"overall": summarize(per_item), "by_type": by_type, "by_split": by_split, "items": per_item}


def verdict(item: Item, answer: str, refused: bool) -> str:
    """right, wrong or refused: what the perturbation suite compares between a question and its variants."""
    if refused:
        return "refused"
    if item.type == "unanswerable":
        return "wrong"
    return "right" if m.answer_correct(item.answers, answer) else "wrong"


def run_perturbations(qa: ReportQA, outcomes: list[Outcome]) -> dict[str, Any]:
    """Every question in the variants of eval_perturb; the share that keep the original's verdict."""
    from assistant.evaluation.perturb import VARIANTS, variants

    kept: dict[str, list[float]] = {name: [] for name in VARIANTS}
    changed = []
    for o in outcomes:
        original = verdict(o.item, o.answer, o.refused)
        for name, question in variants(o.item.question).items():
            ans = qa.ask(question, history=o.item.history)
            now = verdict(o.item, ans.answer, ans.refused)
            kept[name].append(1.0 if now == original else 0.0)
            if now != original:
                changed.append({"id": o.item.id, "variant": name, "question": question, "was": original, "now": now})
    every = [v for vs in kept.values() for v in vs]
    return {"same_verdict": m.mean(every), "n": len(every),
            "by_variant": {name: {"n": len(vs), "same_verdict": m.mean(vs)} for name, vs in kept.items()},
            "changed": changed}


# --- the three pipelines -------------------------------------------------------------------------
def run_pipeline(qa: ReportQA, items: list[Item]) -> list[Outcome]:
    out = []
    for it in items:
        t = time.perf_counter()
        ans = qa.ask(it.question, history=it.history)
        latency = (time.perf_counter() - t) * 1000
        passages = [(c.source, c.start, c.end, c.text) for c in ans.context]
        out.append(Outcome(it, passages, ans.answer, ans.refused, {c.n: c.text for c in ans.context}, latency,
                           sum(len(p[3]) for p in passages)))
    return out


def naive_answers(qa: ReportQA, outcomes: list[Outcome]) -> list[Outcome]:
    """The naive extractive baseline over the same passages: the one sentence sharing most words with the
    question, never a refusal unless nothing was retrieved. What the answerer adds shows against it."""
    from assistant.retrieval.terms import answer_units

    out = []
    for o in outcomes:
        words = {w for w in qa.tokens(o.item.question) if len(w) > 1}
        units = [(u, n) for n, (*_, text) in enumerate(o.passages, 1) for u in answer_units(text)]
        best = max(units, key=lambda un: len(words & set(qa.tokens(un[0]))), default=None)
        answer = f"{best[0]}[{best[1]}]" if best else ""
        out.append(Outcome(o.item, o.passages, answer, not best, o.citation_texts, o.latency_ms, o.context_chars))
    return out


def run_keyword_baseline(qa: ReportQA, items: list[Item], k: int) -> list[Outcome]:
    out = []
    for it in items:
        t = time.perf_counter()
        passages = qa.keyword_search(it.question, k)
        text, refused = qa.extract(it.question, passages)
        latency = (time.perf_counter() - t) * 1000
        ps = [(p.chunk.source, p.chunk.start, p.chunk.end, p.chunk.text) for p in passages]
        out.append(Outcome(it, ps, text, refused, {n: p[3] for n, p in enumerate(ps, 1)}, latency, sum(len(p[3]) for p in ps)))
    return out


def run_dense_baseline(qa: ReportQA, items: list[Item], corpus: Path, k: int) -> list[Outcome]:
    """The common recipe: 500-character RecursiveCharacterTextSplitter chunks of the raw files, dense search only."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50, add_start_index=True)
    chunks: list[Chunk] = []
    for path in discover([corpus]):
        try:
            doc = load_document(path, corpus)
        except USER_ERRORS:
            continue
        for d in splitter.create_documents([doc.text]):
            s = d.metadata["start_index"]
            e = s + len(d.page_content)
            cid = content_hash("baseline500", doc.source, str(s), d.page_content)
            chunks.append(Chunk(chunk_id=cid, report_id=doc.source, source=doc.source, start=s, end=e, text=d.page_content,
                                section_path="", period=None, title=doc.source, city=None, year=None, type="其他",
                                embed_text=d.page_content, ordinal=len(chunks)))
    store = qa.side_store("baseline500")
    have = store.existing_ids([c.chunk_id for c in chunks])
    todo = [c for c in chunks if c.chunk_id not in have]
    for i in range(0, len(todo), 64):
        batch = todo[i : i + 64]
        store.upsert_chunks(batch, qa.embedder.embed_documents([c.text for c in batch]), "baseline")
    out = []
    for it in items:
        t = time.perf_counter()
        hits = store.query(qa.embedder.embed_query(it.question), k)
        passages = [Passage(chunk=c, score=sim, dense_score=sim) for c, sim, _ in hits]
        text, refused = qa.extract(it.question, passages)
        latency = (time.perf_counter() - t) * 1000
        ps = [(p.chunk.source, p.chunk.start, p.chunk.end, p.chunk.text) for p in passages]
        out.append(Outcome(it, ps, text, refused, {n: p[3] for n, p in enumerate(ps, 1)}, latency, sum(len(p[3]) for p in ps)))
    return out


# --- reporting -----------------------------------------------------------------------------------
COLUMNS = [("recall_at_k", "recall@k"), ("mrr", "MRR"), ("context_chars", "ctx chars"), ("answer_accuracy", "accuracy"),
           ("relation_accuracy", "高于/低于"), ("citation_precision", "cite prec"), ("refusal_rate", "refusal"), ("false_refusal_rate", "false ref"),
           ("latency_p50_ms", "p50 ms"), ("latency_p95_ms", "p95 ms")]


def _fmt(v: Any, key: str) -> str:
    if v is None:
        return "—"
    if key in ("context_chars", "latency_p50_ms", "latency_p95_ms"):
        return f"{v:.0f}" if key == "context_chars" else f"{v:.1f}"
    return f"{v:.3f}"


def print_tables(console: Console, results: dict[str, dict[str, Any]], k: int) -> None:
    ours = results["reportqa"]
    table = Table("type", "n", *[c[1] for c in COLUMNS], title=f"ReportQA by question type (k={k})")
    for t, row in [*ours["by_type"].items(), ("overall", ours["overall"])]:
        table.add_row(t, str(row["n"]), *[_fmt(row[key], key) for key, _ in COLUMNS])
    console.print(table)
    if ours["by_split"]:
        splits = Table("split", "n", *[c[1] for c in COLUMNS], title="ReportQA by split (tune on dev, report test)")
        for sp, row in ours["by_split"].items():
            splits.add_row(sp, str(row["n"]), *[_fmt(row[key], key) for key, _ in COLUMNS])
        console.print(splits)
    side = Table("pipeline", "split", *[c[1] for c in COLUMNS], title=f"Side by side, same model, same k={k}")
    for name, res in results.items():
        for sp, row in [("all", res["overall"]), *res["by_split"].items()]:
            side.add_row(name, sp, *[_fmt(row[key], key) for key, _ in COLUMNS])
    console.print(side)


def print_perturbations(console: Console, perturbed: dict[str, Any]) -> None:
    table = Table("variant", "n", "same verdict", title="Perturbation suite: the same verdict as the original question")
    for name, row in [*perturbed["by_variant"].items(), ("all", perturbed)]:
        table.add_row(name, str(row["n"]), _fmt(row["same_verdict"], "same_verdict"))
    console.print(table)


def write_markdown(path: Path, results: dict[str, Any], outcomes: list[Outcome], k: int) -> None:
    ours = results["reportqa"]
    lines = [f"# ReportQA eval {path.stem}", "", f"k={k}", "", "| pipeline | " + " | ".join(c[1] for c in COLUMNS) + " |",
             "|---" * (len(COLUMNS) + 1) + "|"]
    for name, res in results.items():
        lines.append(f"| {name} | " + " | ".join(_fmt(res["overall"][key], key) for key, _ in COLUMNS) + " |")
    lines += ["", "## Failures", ""]
    scores = {r["id"]: r for r in ours["items"]}
    for o in outcomes:
        r = scores[o.item.id]
        failed = (r.get("answer_accuracy", 1) < 1 or r.get("recall_at_k", 1) < 1 or r.get("refusal", 1) < 1
                  or r.get("citation_precision", 1) < 1)
        if not failed:
            continue
        lines += [f"### {o.item.id} ({o.item.type}) {o.item.question}", "",
                  f"- history: {o.item.history}" if o.item.history else "- history: —",
                  f"- expected: {o.item.answers or '(refuse)'}", f"- answer: {o.answer!r} (refused={o.refused})",
                  f"- scores: {json.dumps({k2: v for k2, v in r.items() if k2 not in ('id', 'type')}, ensure_ascii=False)}",
                  "- passages:"]
        for n, (src, s, e, text) in enumerate(o.passages, start=1):
            lines.append(f"  {n}. {src}:{s}-{e} {text[:120]!r}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def baseline_record(k: int, ours: dict[str, Any], perturbed: dict[str, Any] | None,
                    convo: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a saved baseline holds: overall and per-split metrics, the perturbation score and the
    conversations' turn accuracy."""
    record: dict[str, Any] = {"k": k, "overall": ours["overall"], "splits": ours["by_split"]}
    if perturbed is not None:
        record["perturbation_same_verdict"] = perturbed["same_verdict"]
    if convo is not None:
        record["conversation_turns"] = {"all": convo["overall"], **convo["by_split"]}
    return record


def _gated(current: dict[str, Any], perturbed: dict[str, Any] | None,
           convo: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    groups = {"all": dict(current["overall"]), **{sp: dict(row) for sp, row in current["by_split"].items()}}
    if perturbed is not None:
        groups["all"]["perturbation_same_verdict"] = perturbed["same_verdict"]
    for group, row in ({"all": convo["overall"], **convo["by_split"]} if convo else {}).items():
        groups.setdefault(group, {})["conversation_turn_accuracy"] = row["turn_accuracy"]
        groups[group]["n_turns"] = row["turns"]
    return groups


def compare_with_baseline(console: Console, current: dict[str, Any], baseline_file: Path,
                          perturbed: dict[str, Any] | None = None, convo: dict[str, Any] | None = None,
                          gate_citations: bool = True) -> int:
    """Fail when any gated metric drops by more than TOLERANCE, overall or on either split. Citation
    precision is gated only for LLM answers: an extractive answer quotes its passages, so it is 1.0 by
    construction and a gate on it could never fail."""
    saved = json.loads(baseline_file.read_text(encoding="utf-8"))
    base = {"all": dict(saved.get("overall", saved)), **saved.get("splits", {})}
    if "perturbation_same_verdict" in saved:
        base["all"]["perturbation_same_verdict"] = saved["perturbation_same_verdict"]
    for group, row in saved.get("conversation_turns", {}).items():
        base.setdefault(group, {})["conversation_turn_accuracy"] = row["turn_accuracy"]
    table = Table("split", "metric", "baseline", "now", "delta", "status", title=f"Gate against {baseline_file}")
    failed = False
    for group, now in _gated(current, perturbed, convo).items():
        for key in (*HIGHER_IS_BETTER, "perturbation_same_verdict", "conversation_turn_accuracy", *LOWER_IS_BETTER):
            old, new = base.get(group, {}).get(key), now.get(key)
            if old is None or new is None or (key == "citation_precision" and not gate_citations):
                continue
            delta = new - old
            # one question may flip (a near-tie on another CPU's arithmetic) without failing a small split
            n = now.get({"refusal_rate": "n_unanswerable", "conversation_turn_accuracy": "n_turns"}.get(key, "n_answerable")) or 0
            tolerance = max(TOLERANCE, 1.0 / n + 1e-9) if n and key != "perturbation_same_verdict" else TOLERANCE
            bad = delta < -tolerance if key not in LOWER_IS_BETTER else delta > tolerance
            failed |= bad
            table.add_row(group, key, f"{old:.3f}", f"{new:.3f}", f"{delta:+.3f}", "[red]DROP[/red]" if bad else "ok")
    console.print(table)
    return 1 if failed else 0


def eval_settings(settings: Settings, corpus: Path) -> Settings:
    """A separate index per corpus (reused between runs), sharing the model dir."""
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", corpus.resolve().name).strip("-") or "corpus"
    digest = hashlib.sha256(str(corpus.resolve()).encode()).hexdigest()[:8]
    return settings.model_copy(update={"data_dir": corpus, "index_name": f"eval-index/{slug}-{digest}"})


@dataclass(frozen=True)
class EvalOptions:
    """One `reportqa eval` run: which set, over which corpus, what else to run, what to compare with."""

    qa_file: Path = Path("eval/qa.jsonl")
    corpus: Path | None = None  # default: the data dir
    baseline: Path | None = None  # a saved result to gate on
    k: int = 5
    baselines: bool = True  # the three comparison pipelines
    save_baseline: Path | None = None
    judge: bool = False  # LLM-judged faithfulness (needs an LLM)
    perturb: bool = True
    split: str | None = None  # dev / test / both
    conversations: Path | None = None
    figures: Path | None = None  # labelled ledger records: extraction precision and recall


def run_eval(settings: Settings, options: EvalOptions, console: Console, qa: ReportQA | None = None) -> int:
    """Run one evaluation; 1 when the gate fails against the baseline, else 0."""
    from assistant.qa import ReportQA

    opts = options
    qa_file, corpus, baseline, k, split = opts.qa_file, opts.corpus, opts.baseline, opts.k, opts.split
    items = load_items(qa_file)
    if split:
        items = [it for it in items if it.split == split]
    corpus = corpus or settings.data_dir
    s = eval_settings(settings, corpus).model_copy(update={"top_k": k})
    qa = qa or ReportQA.from_settings(s)
    summary = qa.ingest([corpus])
    for o in summary.errors:
        console.print(f"[yellow]skipped[/yellow] {o.source}: {o.message}")
    texts = {src: qa.document_text(src) for src in qa.sources()}
    outcomes = run_pipeline(qa, items)
    results = {"reportqa": score(outcomes, texts)}
    if opts.baselines:
        results["naive extractive (same passages)"] = score(naive_answers(qa, outcomes), texts)
        results["dense-500 (common recipe)"] = score(run_dense_baseline(qa, items, corpus, k), texts)
        results["keyword only (BM25)"] = score(run_keyword_baseline(qa, items, k), texts)
    perturbed = run_perturbations(qa, outcomes) if opts.perturb else None
    convo = None
    if opts.conversations is not None:
        from assistant.evaluation.conversations import (
            load_conversations,
            print_conversations,
            run_conversations,
        )

        convo = run_conversations(qa, [c for c in load_conversations(opts.conversations) if not split or c.split == split])
    ledger = None
    if opts.figures is not None:
        from assistant.evaluation.figures import ledger_scores, print_ledger_scores

        ledger = ledger_scores(qa, opts.figures, split)
    if opts.judge and qa.llm is not None:
        results["reportqa"]["overall"]["faithfulness"] = judge_faithfulness(qa, outcomes)
    print_tables(console, results, k)
    if perturbed is not None:
        print_perturbations(console, perturbed)
    if convo is not None:
        print_conversations(console, convo)
    if ledger is not None:
        print_ledger_scores(console, ledger)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = Path("eval/results")
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {"timestamp": stamp, "k": k, "qa": str(qa_file), "corpus": str(corpus), "mode": qa.mode,
               "embedding_model": qa.embedder.model_id, "overall": results["reportqa"]["overall"],
               "pipelines": {n: {"overall": r["overall"], "by_type": r["by_type"], "by_split": r["by_split"]}
                             for n, r in results.items()},
               "perturbation": perturbed, "conversations": convo, "ledger": ledger, "items": results["reportqa"]["items"]}
    (out_dir / f"{stamp}.json").write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    write_markdown(out_dir / f"{stamp}.md", results, outcomes, k)
    console.print(f"results: {out_dir / stamp}.json, failures: {out_dir / stamp}.md")
    if opts.save_baseline:
        opts.save_baseline.write_text(json.dumps(baseline_record(k, results["reportqa"], perturbed, convo), ensure_ascii=False,
                                            indent=1), encoding="utf-8")
    if baseline:
        return compare_with_baseline(console, results["reportqa"], baseline, perturbed, convo,
                                     gate_citations=qa.mode == "llm")
    return 0


def judge_faithfulness(qa: ReportQA, outcomes: list[Outcome]) -> float | None:
    """LLM-judged share of supported statements (optional; needs a configured LLM)."""
    from assistant.answer.prompting import render

    if qa.llm is None:
        return None
    scores = []
    for o in outcomes:
        if o.refused:
            continue
        passages = "\n".join(f"[{n}] {t}" for n, t in o.citation_texts.items())
        reply = qa.llm.invoke(render("judge", passages=passages, question=o.item.question, answer=o.answer))
        found = re.search(r"[01](?:\.\d+)?", str(getattr(reply, "content", reply)))
        if found:
            scores.append(min(1.0, float(found.group())))
    return m.mean(scores)
