"""GET /api/v1/projects (filters, sort, cursor pages) and GET /api/v1/projects/{project_id}."""

from __future__ import annotations

from typing import Annotated, get_args

from litestar import Controller, get
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, QueryParameter

from contracts.types import BlockerCause, Side, Track
from ledger.classify import CATEGORIES
from services.api import models
from services.api.auth import require
from services.api.errors import ApiError
from services.api.queries.projects import SORTS, ProjectFilter, list_projects, project_detail
from services.api.reading import OptBool, OptStr, one_of, reading

SCHEMA_DOC = "read as of an audit build from the catalog (see /api/v1/builds); default: the live ledger"
Limit = Annotated[int, QueryParameter(ge=1, le=500, description="page size (1–500)")]
Schema = Annotated[str | None, QueryParameter(description=SCHEMA_DOC)]


class ProjectsController(Controller):
    path = "/api/v1/projects"
    guards = [require("viewer")]  # noqa: RUF012 (Litestar reads it as a class attribute)
    tags = ["projects"]  # noqa: RUF012

    @get("/", summary="List projects", description="Filters combine with AND. Sort keys: " + ", ".join(SORTS)
         + "; prefix '-' for descending. Pass `next_cursor` back as `cursor` for the next page.")
    async def list(
        self, state: State, district: OptStr = None, track: OptStr = None, category: OptStr = None,
        stage: Annotated[str | None, QueryParameter(description="an open stage, e.g. land_supply")] = None,
        overdue: OptBool = None, blocker_side: OptStr = None, blocker_cause: OptStr = None,
        key_project: OptBool = None, withdrawn: OptBool = None,
        q: Annotated[str | None, QueryParameter(description="text in the name or the enterprise")] = None,
        sort: FromQuery[str] = "id", limit: Limit = 50, cursor: OptStr = None,
        total: Annotated[bool, QueryParameter(description="also count all matching projects")] = False,
        schema: Schema = None,
    ) -> models.ProjectPage:
        f = ProjectFilter(
            district=district, track=one_of("track", track, get_args(Track)),
            category=one_of("category", category, tuple(c for c, _, _ in CATEGORIES)), stage=stage,
            overdue=overdue, blocker_side=one_of("blocker_side", blocker_side, get_args(Side)),
            blocker_cause=one_of("blocker_cause", blocker_cause, get_args(BlockerCause)),
            key_project=key_project, withdrawn=withdrawn, q=q,
        )
        async with reading(state, schema) as (conn, build):
            return await list_projects(conn, build, f, sort=sort, limit=limit, cursor=cursor, with_total=total)

    @get("/{project_id:str}", summary="One project: stages, blockers, deadlines and its full history")
    async def detail(self, state: State, project_id: FromPath[str], schema: Schema = None) -> models.ProjectDetail:
        async with reading(state, schema) as (conn, build):
            found = await project_detail(conn, build, project_id)
        if found is None:
            raise ApiError(404, "not_found", f"no project '{project_id}' in the ledger")
        return found
