"""The sales leads' dashboard: HTML pages over the same functions the API routes use (issue 4, issue 5).

Reads are rendered on the server (trends, records, scorecards, the model card); writes (sign-in,
sign-out, upload, label review, scorecards) go from the page's own script to the ``/v1`` API with the
session cookie. Without a valid session a page redirects to ``/signin``; other problems render
``error.html`` (see :func:`install`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from service import dashboard_views as views
from service.batches import recent_batches
from service.charts import (
    ChartPoint,
    Series,
    confusion_heatmap,
    line_chart,
    most_common_miss,
    reliability_diagram,
)
from service.deps import ClassifierDep, EngineDep, SettingsDep, ViewerDep
from service.drivers import drivers as find_drivers
from service.reclassify import runs_of
from service.registry import assignments, list_versions
from service.routes.models import version_out
from service.scorecards import list_scorecards
from service.store import RecordFilter, page_records, record_out
from service.trends import HELD_OUT_SET
from vocml.cues import CUES
from vocml.data import LABELS
from vocml.errors import ConfigError
from vocml.scorecard import rubric

HERE = Path(__file__).resolve().parent.parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(
    pct=views.pct, period_end=views.period_end, LABELS=LABELS, SOURCE_NAMES=views.SOURCE_NAMES, CUES=CUES
)
templates.env.filters["qs"] = lambda params: urlencode(params)
templates.env.filters["pathq"] = lambda value: quote(str(value), safe="")

router = APIRouter(include_in_schema=False)

PeriodQ = Annotated[str | None, Query(max_length=10)]
SMALL = (460, 240)  # one of several charts side by side
HALF = (600, 280)  # one of two charts side by side
DateQ = Annotated[str | None, Query(max_length=10)]


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """Render a page with the common context (who is signed in, the path for the nav)."""
    principal = getattr(request.state, "principal", None)
    base = {"principal": principal, "path": request.url.path}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def render_problem(request: Request, problem: dict[str, Any]) -> Response:
    """Problems on pages: sign in again on 401, otherwise an error page (no other team is ever named)."""
    if problem["status"] == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/signin?" + urlencode({"next": target}), status_code=303)
    return render(request, "error.html", {"problem": problem}, status_code=int(problem["status"]))


def install(app: FastAPI) -> None:
    """Serve ``/static`` and render page problems as HTML (called once by ``create_app``)."""
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.state.problem_html = render_problem


def _safe_next(target: str | None) -> str:
    """``target`` if it is a path on this server, else ``/``: browsers read ``/\\host`` as ``//host``, so
    backslashes, control characters and anything with a scheme or host are refused."""
    if not target or not target.startswith("/") or any(c in target for c in "\\\t\r\n") or not target.isprintable():
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return "/"
    return target


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, next: Annotated[str | None, Query(max_length=2000)] = None) -> HTMLResponse:
    """The sign-in form (a token, posted to ``/v1/session`` by the page's script)."""
    return render(request, "signin.html", {"next": _safe_next(next), "one_time": False})


@router.get("/", response_class=HTMLResponse)
def overview_page(
    request: Request,
    engine: EngineDep,
    period: PeriodQ = None,
    start: DateQ = None,
    end: DateQ = None,
    sort: Annotated[str, Query(max_length=10)] = "team",
    dir: Annotated[str, Query(max_length=4)] = "asc",
    token: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """One row per visible team; ``/?token=...`` (the link ``vocml serve`` prints) signs in first."""
    if token is not None:
        return render(request, "signin.html", {"next": "/", "one_time": True})
    from service.deps import resolve_principal

    principal = resolve_principal(request, engine)
    view = views.parse_view(period, start, end)
    sort = sort if sort in views.SORTS else "team"
    with engine.connect() as conn:
        view = views.resolve_view(conn, principal, view)
        found = views.overview(conn, principal, view, sort=sort, desc=dir == "desc")
    return render(
        request,
        "overview.html",
        {
            "view": view,
            "rows": found["rows"],
            "headline": found["headline"],
            "drivers": found["drivers"],
            "latest": found["latest"],
            "sort": sort,
            "dir": dir,
        },
    )


@router.get("/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: ViewerDep,
    team: Annotated[list[str] | None, Query()] = None,
    period: PeriodQ = None,
    start: DateQ = None,
    end: DateQ = None,
) -> HTMLResponse:
    """Several teams' needs-first share side by side: one small chart per team on the same axes."""
    view = views.parse_view(period, start, end)
    with engine.connect() as conn:
        view = views.resolve_view(conn, principal, view)
        available = views.visible_teams(conn, principal)
        chosen = [t for t in dict.fromkeys(team or []) if t][:8]
        for t in chosen:
            principal.require_team(t)
        charts, tables = [], []
        for t in chosen:
            trend = views.team_trend(conn, principal, t, view, error_model=None, draws=settings.bootstrap_draws)
            href = _records_href(t, view)
            series = [views.share_series(t, t, trend.points, style=0, href=href)]
            charts.append(line_chart(series, title=t, period=view.period, size=SMALL))
            tables.append(trend)
    return render(
        request,
        "compare.html",
        {"view": view, "available": available, "chosen": chosen, "charts": charts, "tables": tables},
    )


def _records_href(team: str, view: views.View) -> Any:
    def href(start: Any) -> str:
        end = views.period_end(start, view.period)
        return f"/teams/{_quote(team)}/records?" + urlencode({"period": view.period, "start": start, "end": end})

    return href


def _quote(team: str) -> str:
    return quote(team, safe="")


@router.get("/teams/{team:path}/records", response_class=HTMLResponse)
def records_page(
    request: Request,
    team: str,
    engine: EngineDep,
    principal: ViewerDep,
    period: PeriodQ = None,
    start: DateQ = None,
    end: DateQ = None,
    label: Annotated[str | None, Query(max_length=20)] = None,
    source: Annotated[str | None, Query(max_length=30)] = None,
    uncertain: Annotated[str | None, Query(max_length=5)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cue: Annotated[str | None, Query(max_length=60)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """A team's records, newest first, filtered; evidence highlighted; labels correctable by uploaders.

    Registered before the team page so that ``{team:path}`` (team names may contain ``/``) matches here first.
    """
    view = views.parse_view(period, start, end)
    principal.require_team(team)
    if label and label not in LABELS:
        raise ConfigError(f"label must be one of {', '.join(LABELS)}")
    if source and source not in views.SOURCE_NAMES:
        raise ConfigError(f"source must be one of {', '.join(views.SOURCE_NAMES)}")
    if cue and cue not in CUES:
        raise ConfigError(f"unknown behaviour {cue!r}; choose one from the list")
    flag = {"yes": True, "no": False}.get(uncertain or "")
    f = RecordFilter(
        team=team,
        label=label or None,
        source=source or None,
        uncertain=flag,
        q=q or None,
        start=view.start,
        end=view.end,
        cue=cue or None,
    )
    with engine.connect() as conn:
        rows, next_cursor = page_records(conn, f, principal, limit=50, cursor=cursor or None)
    items = []
    for row in rows:
        rec = record_out(row)
        rec["pieces"] = views.highlight(rec["text"], rec["prediction"]["evidence"])
        items.append(rec)
    filters = {
        "label": label or "",
        "source": source or "",
        "uncertain": uncertain or "",
        "q": q or "",
        "cue": cue or "",
    }
    export_q = {k: v for k, v in {"team": team, **filters, "start": view.start, "end": view.end}.items() if v}
    if "uncertain" in export_q:
        export_q["uncertain"] = "true" if flag else "false"
    return render(
        request,
        "records.html",
        {
            "view": view,
            "team": team,
            "team_q": _quote(team),
            "items": items,
            "filters": filters,
            "next_cursor": next_cursor,
            "can_review": principal.has_role("uploader"),
            "export_href": "/v1/export.csv?" + urlencode(export_q),
        },
    )


@router.get("/teams/{team:path}", response_class=HTMLResponse)
def team_page(
    request: Request,
    team: str,
    engine: EngineDep,
    settings: SettingsDep,
    principal: ViewerDep,
    period: PeriodQ = None,
    start: DateQ = None,
    end: DateQ = None,
) -> HTMLResponse:
    """A team's trend (with the error-adjusted line), what drives it, call notes against customers'
    comments, and its scorecards beside the measured share."""
    view = views.parse_view(period, start, end)
    principal.require_team(team)
    error_model = getattr(request.app.state, "error_model", None)
    with engine.connect() as conn:
        view = views.resolve_view(conn, principal, view)
        trend = views.team_trend(conn, principal, team, view, error_model=error_model, draws=settings.bootstrap_draws)
        latest = trend.points[-1]["start"] if trend.points else None
        drivers = find_drivers(conn, [team], latest, view.period) if latest else []
        # scorecards are monthly self-assessments: they sit beside the measured share of their month
        monthly = views.View(period="month", start=view.start, end=view.end)
        score_trend = (
            trend
            if view.period == "month"
            else views.team_trend(conn, principal, team, monthly, error_model=None, draws=settings.bootstrap_draws)
        )
    href = _records_href(team, view)
    main = [views.share_series("Needs-first share", team, trend.points, style=0, href=href)]
    if trend.adjusted:
        main.append(views.adjusted_series(team, trend.points, style=1))
    by_source = [
        views.share_series(
            views.SOURCE_NAMES[src].capitalize(),
            team,
            pts,
            style=2 + i,
            href=None,
            what=f"needs-first in {views.SOURCE_NAMES[src]}",
        )
        for i, (src, pts) in enumerate(trend.by_source.items())
    ]
    history = list_scorecards(engine, team, principal)
    compared = views.scorecard_rows(history, score_trend, "month")
    self_series = Series(
        name="Self-score (total of 28, as %)",
        style=4,
        band=False,
        dashed=True,
        points=[
            ChartPoint(
                start=row["card"]["period_start"],
                value=row["card"]["total"] / 28,
                title=(
                    f"Self-score {row['card']['total']}/28 for {row['card']['period_start']}: "
                    f"{row['card']['band']['verdict']}"
                ),
            )
            for row in compared
        ],
    )
    measured_src = score_trend.by_source.get("customer_comment") or score_trend.points
    measured_name = (
        "Needs-first share in customers' comments (by month)"
        if "customer_comment" in score_trend.by_source
        else "Needs-first share (by month)"
    )
    say_do_chart = line_chart(
        [views.share_series(measured_name, team, measured_src, style=3), self_series],
        title="What the team says (monthly scorecard) and what its records show",
        period="month",
        size=HALF,
    )
    return render(
        request,
        "team.html",
        {
            "view": view,
            "team": team,
            "trend": trend,
            "chart": line_chart(main, title=f"Needs-first share, {team}", period=view.period),
            "source_chart": line_chart(
                by_source, title=f"Call notes against customers' comments, {team}", period=view.period, size=HALF
            )
            if by_source
            else None,
            "say_do_chart": say_do_chart,
            "scorecards": compared,
            "history": history,
            "drivers": drivers,
            "latest": latest,
            "can_write": principal.has_role("uploader"),
            "team_q": _quote(team),
        },
    )


@router.get("/upload", response_class=HTMLResponse)
def upload_page(
    request: Request,
    engine: EngineDep,
    principal: ViewerDep,
    batch: Annotated[str | None, Query(max_length=40, pattern=r"^[0-9a-f]+$")] = None,
) -> HTMLResponse:
    """Upload a CSV or JSONL batch and watch it run; the past uploads this token may see, each linked."""
    can_upload = principal.has_role("uploader")
    past = recent_batches(engine, principal, limit=20) if can_upload else []
    return render(request, "upload.html", {"can_upload": can_upload, "past": past, "batch": batch})


@router.get("/model", response_class=HTMLResponse)
def model_page(request: Request, classifier: ClassifierDep, principal: ViewerDep) -> HTMLResponse:
    """The model card in plain words first (the held-out figure, its most common miss), then pictures
    (reliability diagram, confusion heatmap), then the tables."""
    card = classifier.card
    fields = ("version", "created", "threshold", "sklearn", "spacy", "vocml", "metrics", "evaluations")
    info = None if card is None else {k: getattr(card, k, None) for k in fields}
    held_out = ((info or {}).get("evaluations") or {}).get(HELD_OUT_SET)
    metrics = held_out or (info or {}).get("metrics") or {}
    source = "on real texts it never saw (the locked real test set)" if held_out else "cross-validated"
    pictures = {
        "reliability": reliability_diagram(metrics["reliability"]) if metrics.get("reliability") else None,
        "heatmap": confusion_heatmap(metrics["confusion"]) if (metrics.get("confusion") or {}).get("matrix") else None,
        "miss": most_common_miss(metrics["confusion"]) if metrics.get("confusion") else None,
    }
    return render(
        request,
        "model.html",
        {"card": info, "metrics": metrics, "metrics_source": source, "held_out": bool(held_out), **pictures},
    )


@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request, engine: EngineDep, principal: ViewerDep) -> HTMLResponse:
    """Retrain on the teams' own labels, compare the new version with the current one side by side,
    promote, discard or roll back; progress of training and of re-labelling the stored records."""
    if not principal.has_role("admin"):
        return render(request, "models.html", {"is_admin": False})
    models = request.app.state.models
    with engine.connect() as conn:
        assigned = assignments(conn)
        teams = views.visible_teams(conn, principal)
        rows = [
            version_out(r, assigned, models.shipped.version, runs_of(conn, str(r["version"]), chunks=5))
            for r in list_versions(conn, principal)
        ]
    active = any(r["status"] in ("queued", "training") for r in rows) or any(
        run["status"] in ("queued", "running") for r in rows for run in r["runs"]
    )
    return render(
        request,
        "models.html",
        {"is_admin": True, "versions": rows, "teams": teams, "active": active, "limited": principal.teams is not None},
    )


@router.get("/review", response_class=HTMLResponse)
def review_page(
    request: Request,
    engine: EngineDep,
    principal: ViewerDep,
    team: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[str, Query(pattern="^(audit|queue)$")] = "audit",
) -> HTMLResponse:
    """Label fast, one text at a time, by keyboard: the blind audit sample or the review queue."""
    with engine.connect() as conn:
        teams = views.visible_teams(conn, principal)
    if team:
        principal.require_team(team)
    elif teams:
        team = teams[0]
    return render(
        request,
        "review.html",
        {"team": team, "teams": teams, "kind": kind, "can_review": principal.has_role("uploader")},
    )


@router.get("/scorecard", response_class=HTMLResponse)
def scorecard_page(
    request: Request,
    engine: EngineDep,
    principal: ViewerDep,
    team: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """The seven-habits form with every level described (posted to ``/v1/teams/{team}/scorecards``)."""
    if team:
        principal.require_team(team)
    with engine.connect() as conn:
        teams = views.visible_teams(conn, principal)
    if principal.teams is not None:
        teams = sorted(set(teams) | set(principal.teams))
    return render(
        request,
        "scorecard.html",
        {"rubric": rubric(), "teams": teams, "team": team, "can_write": principal.has_role("uploader")},
    )
