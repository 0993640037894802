/**
 * The web app's call tiles without a browser: what an `m.call.*` event says, from the events
 * of the same call in a real matrix-js-sdk Room, for the caller and for the callee; and call
 * durations.
 */

import { createClient, MatrixEvent, Room } from "matrix-js-sdk";
import { en } from "../../web/src/i18n/en.ts";
import { format } from "../../web/src/i18n/index.ts";
import { formatDuration } from "../../web/src/state/calls.ts";
import { summariseCallEvent } from "../../web/src/views/calls/call_event.tsx";
import { assertEquals } from "./assert.ts";

const ALICE = "@alice:localhost";
const BOB = "@bob:localhost";
const ROOM = "!calls:localhost";
const VIDEO_SDP = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
const VOICE_SDP = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";

let counter = 0;
function callEvent(type: string, sender: string, ts: number, content: Record<string, unknown>) {
  return new MatrixEvent({
    type,
    sender,
    room_id: ROOM,
    event_id: `$e${++counter}`,
    origin_server_ts: ts,
    content: { version: "1", party_id: "p", ...content },
  });
}

function roomWith(events: MatrixEvent[], viewer: string): Room {
  const client = createClient({ baseUrl: "http://127.0.0.1:1", userId: viewer });
  const room = new Room(ROOM, client, viewer);
  room.addLiveEvents(events, { addToState: false });
  return room;
}

function text(event: MatrixEvent, room: Room, viewer: string): string | null {
  const summary = summariseCallEvent(event, room, viewer);
  return summary ? format(en[summary.key], summary.params) : null;
}

Deno.test("web call tiles: an answered video call ends with its duration", () => {
  const invite = callEvent("m.call.invite", ALICE, 1_000, {
    call_id: "c1",
    lifetime: 60000,
    offer: { type: "offer", sdp: VIDEO_SDP },
  });
  const candidates = callEvent("m.call.candidates", ALICE, 1_100, {
    call_id: "c1",
    candidates: [],
  });
  const answer = callEvent("m.call.answer", BOB, 5_000, {
    call_id: "c1",
    answer: { type: "answer", sdp: VIDEO_SDP },
  });
  const hangup = callEvent("m.call.hangup", ALICE, 88_000, { call_id: "c1" });
  const room = roomWith([invite, candidates, answer, hangup], BOB);
  // No member state loaded: the sender shows as their user ID.
  assertEquals(text(invite, room, BOB), "@alice:localhost started a video call");
  assertEquals(text(candidates, room, BOB), null, "signalling shows nothing");
  assertEquals(text(answer, room, BOB), null);
  assertEquals(text(hangup, room, BOB), "Video call ended, 1:23");
});

Deno.test("web call tiles: unanswered, missed and declined voice calls", () => {
  const invite = callEvent("m.call.invite", ALICE, 1_000, {
    call_id: "c2",
    lifetime: 60000,
    offer: { type: "offer", sdp: VOICE_SDP },
  });
  const timeout = callEvent("m.call.hangup", ALICE, 61_000, {
    call_id: "c2",
    reason: "invite_timeout",
  });
  assertEquals(text(timeout, roomWith([invite, timeout], ALICE), ALICE), "Voice call not answered");
  assertEquals(text(timeout, roomWith([invite, timeout], BOB), BOB), "Missed voice call");

  const invite3 = callEvent("m.call.invite", ALICE, 1_000, {
    call_id: "c3",
    lifetime: 60000,
    offer: { type: "offer", sdp: VIDEO_SDP },
  });
  const reject = callEvent("m.call.reject", BOB, 3_000, { call_id: "c3" });
  const room = roomWith([invite3, reject], ALICE);
  const summary = summariseCallEvent(reject, room, ALICE);
  assertEquals(summary?.key, "calls.event.declinedVideo");
  assertEquals(summary?.params, { name: BOB });

  // A hang-up whose invite is not loaded says only that a call ended.
  const orphan = callEvent("m.call.hangup", BOB, 9_000, { call_id: "gone" });
  assertEquals(text(orphan, roomWith([orphan], ALICE), ALICE), "Call ended");
});

Deno.test("web calls: durations", () => {
  assertEquals(formatDuration(0), "0:00");
  assertEquals(formatDuration(5.9), "0:05");
  assertEquals(formatDuration(83), "1:23");
  assertEquals(formatDuration(3600 + 62), "1:01:02");
  assertEquals(formatDuration(-3), "0:00");
});
