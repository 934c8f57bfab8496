"""What every control-plane activity class shares: the database and settings,
an openstacksdk Connection to the cloud as the control plane's service user
(made on first use; endpoints from Keystone's catalog) and the image client
over it, and writing instance-action events."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import openstack.connection
from sqlmodel import Session, select
from temporalio import activity

from activities.types.context import EventRecord, OpContext
from novaflow.cloud import host_connection
from novaflow.images import ImageWriter
from novaflow.settings import Settings
from schema.db import Database
from schema.models import InstanceAction, InstanceActionEvent, utcnow


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


class ControlActivities:
    """Base of the activity classes that run on the control queue."""

    def __init__(self, db: Database, settings: Settings):
        self.db = db
        self.settings = settings
        self._conn: openstack.connection.Connection | None = None
        self._conn_lock = threading.Lock()
        self.images = ImageWriter(lambda: self.cloud)

    @property
    def cloud(self) -> openstack.connection.Connection:
        """The cloud (Glance, Neutron...) as the control plane's service user."""
        with self._conn_lock:
            if self._conn is None:
                self._conn = host_connection(self.settings)
            return self._conn

    @staticmethod
    def _workflow_ids() -> tuple[str | None, str | None]:
        if activity.in_activity():
            info = activity.info()
            return info.workflow_id, info.workflow_run_id
        return None, None

    def add_event(
        self,
        session: Session,
        ctx: OpContext,
        event: str,
        *,
        start: datetime | None = None,
        finish: datetime | None = None,
        result: str = "Success",
        host: str | None = None,
        details: str | None = None,
    ) -> None:
        """Record one finished event under the operation's instance action."""
        if ctx.action_id is None:
            return
        wf_id, run_id = self._workflow_ids()
        now = utcnow()
        session.add(
            InstanceActionEvent(
                action_id=ctx.action_id,
                event=event,
                start_time=_aware(start) if start else now,
                finish_time=_aware(finish) if finish else now,
                result=result,
                host=host,
                details=details,
                workflow_id=wf_id,
                run_id=run_id,
            )
        )
        action = session.get(InstanceAction, ctx.action_id)
        if action is not None:
            action.updated_at = now
            if run_id and not action.run_id:
                action.run_id = run_id
            session.add(action)

    def add_events(self, session: Session, ctx: OpContext, events: list[EventRecord]) -> None:
        for ev in events:
            self.add_event(session, ctx, ev.event, start=ev.start_time, finish=ev.finish_time,
                           result=ev.result, host=ev.host, details=ev.details)

    def finish_action(self, session: Session, ctx: OpContext, message: str | None = None) -> None:
        if ctx.action_id is None:
            return
        action = session.get(InstanceAction, ctx.action_id)
        if action is not None:
            action.finish_time = utcnow()
            if message:
                action.message = message
            session.add(action)

    def latest_action(self, session: Session, server_id: str) -> InstanceAction | None:
        stmt = (select(InstanceAction).where(InstanceAction.instance_uuid == server_id)
                .order_by(InstanceAction.id.desc()))
        return session.exec(stmt).first()
