/**
 * The room list's preview of a room's newest message, on matrix-js-sdk's own event and room
 * objects (no server): what each kind of message shows as, which events are passed over, and
 * the list's short times.
 */

import * as sdk from "matrix-js-sdk";
import { formatRecent } from "../../web/src/i18n/format.ts";
import { describeMessage, lastMessagePreview } from "../../web/src/state/room_preview.ts";
import { assertEquals } from "./assert.ts";

const ROOM = "!r:example.org";
const ME = "@anna:example.org";
const BOB = "@bob:example.org";
let counter = 0;

function event(
  type: string,
  content: Record<string, unknown>,
  extra: Partial<sdk.IEvent> = {},
): sdk.MatrixEvent {
  return new sdk.MatrixEvent({
    type,
    content,
    sender: BOB,
    room_id: ROOM,
    event_id: `$e${++counter}`,
    origin_server_ts: 1_700_000_000_000 + counter,
    ...extra,
  });
}

const message = (content: Record<string, unknown>) => event("m.room.message", content);

Deno.test("web room preview: each kind of message", () => {
  assertEquals(describeMessage(message({ msgtype: "m.text", body: "Moien\n  all" })), {
    kind: "text",
    text: "Moien all",
  });
  assertEquals(
    describeMessage(message({ msgtype: "m.text", body: "> <@bob:x> Earlier\n> more\n\nYes" })),
    { kind: "text", text: "Yes" },
    "a reply without its quoted fallback",
  );
  assertEquals(describeMessage(message({ msgtype: "m.emote", body: "waves" })).kind, "emote");
  assertEquals(describeMessage(message({ msgtype: "m.image", body: "a.png" })).kind, "image");
  assertEquals(describeMessage(message({ msgtype: "m.file", body: "a.pdf" })).kind, "file");
  assertEquals(describeMessage(message({ msgtype: "m.video", body: "a.mp4" })).kind, "video");
  assertEquals(describeMessage(message({ msgtype: "m.audio", body: "a.ogg" })).kind, "audio");
  assertEquals(
    describeMessage(message({ msgtype: "m.audio", body: "v", "org.matrix.msc3245.voice": {} }))
      .kind,
    "voice",
  );
  assertEquals(
    describeMessage(message({ msgtype: "m.location", body: "here", geo_uri: "geo:49.6,6.1" })),
    { kind: "location", text: null },
  );
  assertEquals(
    describeMessage(message({ msgtype: "org.example.custom", body: "Fallback" })),
    { kind: "text", text: "Fallback" },
    "an unknown msgtype shows its body",
  );
  assertEquals(
    describeMessage(event("m.sticker", { body: "cat", url: "mxc://x/y" })).kind,
    "image",
  );
  assertEquals(
    describeMessage(event("org.matrix.msc3381.poll.start", {
      "org.matrix.msc3381.poll.start": {
        question: { "org.matrix.msc1767.text": "Lunch?" },
        answers: [],
      },
    })),
    { kind: "poll", text: "Lunch?" },
  );
  assertEquals(describeMessage(event("m.call.invite", {})).kind, "call");
  assertEquals(
    describeMessage(event("m.room.encrypted", { algorithm: "m.megolm.v1.aes-sha2" })),
    { kind: "encrypted", text: null },
  );
  const long = describeMessage(message({ msgtype: "m.text", body: "x".repeat(500) }));
  assertEquals(long.text?.length, 140, "long texts are cut");
});

Deno.test("web room preview: the newest message, passing over edits, state and reactions", async () => {
  const client = sdk.createClient({ baseUrl: "http://127.0.0.1:9", userId: ME });
  const room = new sdk.Room(ROOM, client, ME);
  assertEquals(lastMessagePreview(room, ME), null, "an empty room has none");
  const first = message({ msgtype: "m.text", body: "First" });
  const mine = event("m.room.message", { msgtype: "m.text", body: "Mine" }, { sender: ME });
  const edit = message({
    msgtype: "m.text",
    body: "* First!",
    "m.new_content": { msgtype: "m.text", body: "First!" },
    "m.relates_to": { rel_type: "m.replace", event_id: first.getId() },
  });
  const reaction = event("m.reaction", {
    "m.relates_to": { rel_type: "m.annotation", event_id: mine.getId(), key: "👍" },
  });
  const topic = event("m.room.topic", { topic: "Budget" }, { state_key: "" });
  await room.addLiveEvents([first, mine, edit, reaction, topic], { addToState: false });
  const preview = lastMessagePreview(room, ME);
  assertEquals(preview?.text, "Mine");
  assertEquals(preview?.own, true);
  assertEquals(preview?.ts, mine.getTs());

  const gone = message({ msgtype: "m.text", body: "Oops" });
  await room.addLiveEvents([gone], { addToState: false });
  assertEquals(lastMessagePreview(room, ME)?.sender, BOB, "a sender without a member event");
  gone.makeRedacted(
    event("m.room.redaction", {}, { redacts: gone.getId() }),
    room,
  );
  assertEquals(lastMessagePreview(room, ME)?.kind, "deleted");
  client.stopClient();
});

Deno.test("web room list: times are short (time today, weekday this week, else the date)", () => {
  const now = new Date(2026, 11, 6, 15, 0).getTime(); // a Sunday
  const at = (day: number, hour: number) => new Date(2026, 11, day, hour, 5).getTime();
  assertEquals(formatRecent("en", at(6, 9), now), formatRecentTime("en", at(6, 9)));
  assertEquals(formatRecent("de", at(6, 14), now), "14:05");
  assertEquals(formatRecent("en", at(3, 9), now), "Thu");
  assertEquals(formatRecent("fr", at(3, 9), now), "jeu.");
  assertEquals(formatRecent("lb", at(3, 9), now), "Donneschdeg");
  assertEquals(formatRecent("de", at(1, 9), now), "Di");
  assertEquals(formatRecent("de", new Date(2026, 10, 28).getTime(), now), "28.11.");
  assertEquals(formatRecent("lb", new Date(2025, 0, 31).getTime(), now), "31.01.25");
});

function formatRecentTime(locale: string, ts: number): string {
  return new Intl.DateTimeFormat(locale, { timeStyle: "short" }).format(ts);
}
