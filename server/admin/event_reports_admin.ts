/**
 * Reports for server admins, in Synapse's event reports admin API shapes:
 *
 * - `GET /_synapse/admin/v1/event_reports` (`from`, `limit`, `dir`, `user_id`, `room_id`,
 *   `event_sender_user_id`): newest first by default
 * - `GET /_synapse/admin/v1/event_reports/{reportId}`: one report with `event_json`
 * - `DELETE /_synapse/admin/v1/event_reports/{reportId}`
 *
 * Room and user reports (spec v1.13+) are listed beside event reports, told apart by gemeng's
 * `kind` ("event", "room", "user") and `target_user_id`. Report IDs are strings here
 * (`server/client/report.ts`).
 *
 * @module
 */

import { Hono } from "hono";
import { notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import type { ReportRecord } from "../client/report.ts";
import { adminOnly, dirQuery, textQuery } from "./admin_common.ts";
import { pageOf, pageQuery } from "./admin_lists.ts";
import { auditAdminAction } from "./audit.ts";

/** A report as the admin API shows it. */
type ReportView = Record<string, unknown>;

/** Looks up room names, aliases and event senders once per request. */
class ReportContext {
  readonly #hs: Homeserver;
  readonly #rooms = new Map<string, { name: string | null; alias: string | null }>();

  constructor(hs: Homeserver) {
    this.#hs = hs;
  }

  async room(roomId: string): Promise<{ name: string | null; alias: string | null }> {
    const cached = this.#rooms.get(roomId);
    if (cached) return cached;
    const text = async (type: string, field: string) => {
      const value = (await this.#hs.rooms.currentStateEvent(roomId, type, ""))?.event
        .content[field];
      return typeof value === "string" ? value : null;
    };
    const found = {
      name: await text("m.room.name", "name"),
      alias: await text("m.room.canonical_alias", "alias"),
    };
    this.#rooms.set(roomId, found);
    return found;
  }

  async view(report: ReportRecord, withEvent = false): Promise<ReportView> {
    const room = report.roomId ? await this.room(report.roomId) : { name: null, alias: null };
    const stored = report.eventId ? await this.#hs.rooms.event(report.eventId) : null;
    const view: ReportView = {
      id: report.id,
      received_ts: report.ts,
      room_id: report.roomId,
      name: room.name,
      canonical_alias: room.alias,
      event_id: report.eventId,
      user_id: report.reporter,
      reason: report.reason,
      score: report.score,
      sender: stored?.event.sender ?? null,
      kind: report.kind,
      target_user_id: report.userId,
    };
    if (withEvent) view.event_json = stored?.event.pdu ?? null;
    return view;
  }
}

/** Routes of the event reports admin API. */
export function eventReportsAdminRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const admin = adminOnly(hs);
  const base = "/_synapse/admin/v1/event_reports";

  app.get(base, ...admin, async (c) => {
    const page = pageQuery(c, 100);
    const dir = dirQuery(c, "b");
    const reporter = textQuery(c, "user_id", 255);
    const roomId = textQuery(c, "room_id", 255);
    const sender = textQuery(c, "event_sender_user_id", 255) ??
      textQuery(c, "sender_user_id", 255);
    const context = new ReportContext(hs);
    const reports: ReportRecord[] = [];
    const iter = hs.kv.list<ReportRecord>({ prefix: ["report"] }, { reverse: dir === "b" });
    for await (const entry of iter) {
      const report = entry.value;
      if (reporter && !report.reporter.includes(reporter)) continue;
      if (roomId && !report.roomId?.includes(roomId)) continue;
      if (sender) {
        const stored = report.eventId ? await hs.rooms.event(report.eventId) : null;
        if (stored?.event.sender !== sender) continue;
      }
      reports.push(report);
    }
    const { items, total, next_token } = pageOf(reports, page);
    const views: ReportView[] = [];
    for (const report of items) views.push(await context.view(report));
    return c.json({ event_reports: views, total, ...(next_token ? { next_token } : {}) });
  });

  app.get(`${base}/:reportId`, ...admin, async (c) => {
    const entry = await hs.kv.get<ReportRecord>(["report", c.req.param("reportId")]);
    if (!entry.value) throw notFound("No such report");
    return c.json(await new ReportContext(hs).view(entry.value, true));
  });

  app.delete(`${base}/:reportId`, ...admin, async (c) => {
    const reportId = c.req.param("reportId");
    const key = ["report", reportId];
    const entry = await hs.kv.get<ReportRecord>(key);
    if (!entry.value) throw notFound("No such report");
    await hs.kv.atomic().check(entry).delete(key).commit();
    await auditAdminAction(hs, c, "event_report.delete", {
      target: reportId,
      details: { kind: entry.value.kind, room_id: entry.value.roomId },
    });
    return c.json({});
  });

  return app;
}
