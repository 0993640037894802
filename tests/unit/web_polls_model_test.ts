/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * The web app's poll model on real matrix-js-sdk events and room state, without a server:
 * votes and end events taken from SDK events, who may end a poll (its creator, or someone
 * whose power level allows redacting it), local echoes left for their remote echo, and a
 * redacted vote giving the sender's earlier vote back.
 */

import { createClient, MatrixEvent, Room } from "matrix-js-sdk";
import { PollModel } from "../../web/src/state/polls.ts";
import { pollResponseContent, pollStartContent } from "../../web/src/state/poll_tally.ts";
import { assert, assertEquals } from "./assert.ts";

const ROOM = "!polls:localhost";
const ALICE = "@alice:localhost";
const BOB = "@bob:localhost";
const MOD = "@mod:localhost";

let counter = 0;
function event(
  type: string,
  sender: string,
  ts: number,
  content: Record<string, unknown>,
  extra = {},
) {
  return new MatrixEvent({
    type,
    sender,
    room_id: ROOM,
    event_id: `$e${++counter}`,
    origin_server_ts: ts,
    content,
    ...extra,
  });
}

function roomState(): MatrixEvent[] {
  const member = (user: string) =>
    event("m.room.member", user, 1, { membership: "join" }, { state_key: user });
  return [
    event("m.room.create", ALICE, 1, { creator: ALICE, room_version: "10" }, { state_key: "" }),
    member(ALICE),
    member(BOB),
    member(MOD),
    event("m.room.power_levels", ALICE, 1, {
      users: { [ALICE]: 100, [MOD]: 50 },
      users_default: 0,
      redact: 50,
      events_default: 0,
      state_default: 50,
    }, { state_key: "" }),
  ];
}

function setup(viewer: string) {
  const client = createClient({ baseUrl: "http://127.0.0.1:1", userId: viewer });
  const room = new Room(ROOM, client, viewer);
  room.addLiveEvents(roomState(), { addToState: true });
  let n = 0;
  const start = event(
    "org.matrix.msc3381.poll.start",
    ALICE,
    100,
    pollStartContent(
      { question: "Lunch?", answers: ["Pizza", "Soup"], disclosed: true },
      () => `a${++n}`,
    ),
  );
  room.addLiveEvents([start], { addToState: false });
  return { client, room, start, model: new PollModel(client, room, start) };
}

const vote = (sender: string, ts: number, answer: string, pollId: string) =>
  event("org.matrix.msc3381.poll.response", sender, ts, pollResponseContent(pollId, [answer]));

const end = (sender: string, ts: number, pollId: string) =>
  event("org.matrix.msc3381.poll.end", sender, ts, {
    "m.relates_to": { rel_type: "m.reference", event_id: pollId },
    "org.matrix.msc3381.poll.end": {},
    "org.matrix.msc1767.text": "Ended",
  });

Deno.test("web poll model: votes from SDK events, and who may end the poll", () => {
  const { model, start } = setup(BOB);
  const pollId = start.getId()!;
  assertEquals(model.poll?.answers.map((a) => a.text), ["Pizza", "Soup"]);
  assert(!model.mayEnd, "Bob neither created the poll nor may redact it");
  assert(setup(MOD).model.mayEnd, "a moderator may redact it, so may end it");

  model.take(vote(BOB, 200, "a1", pollId));
  model.take(vote(MOD, 210, "a2", pollId));
  model.take(vote(BOB, 220, "a2", pollId));
  assertEquals([...model.tally.value!.counts], [["a1", 0], ["a2", 2]]);
  assertEquals(model.myVote.value, "a2");

  model.take(end(BOB, 230, pollId)); // not allowed: ignored
  assertEquals(model.tally.value!.end, null);
  model.take(vote(ALICE, 240, "a1", pollId));
  model.take(end(MOD, 250, pollId)); // a moderator may end it
  assertEquals(model.tally.value!.end?.sender, MOD);
  model.take(vote(ALICE, 260, "a2", pollId)); // too late
  assertEquals([...model.tally.value!.counts], [["a1", 1], ["a2", 2]]);
  assertEquals(model.tally.value!.winners, ["a2"]);
});

Deno.test("web poll model: local echoes wait, redacted votes fall back, others ignored", () => {
  const { model, start } = setup(ALICE);
  const pollId = start.getId()!;
  assert(model.mayEnd, "the creator may end the poll");
  const first = vote(BOB, 200, "a1", pollId);
  const second = vote(BOB, 300, "a2", pollId);
  model.take(first);
  model.take(second);
  assertEquals(model.tally.value!.votes.get(BOB), ["a2"]);
  model.forget(second.getId()!);
  assertEquals(model.tally.value!.votes.get(BOB), ["a1"], "the earlier vote counts again");

  const echo = vote(ALICE, 400, "a2", pollId);
  echo.setStatus("sending" as never);
  model.take(echo);
  assertEquals(model.tally.value!.votes.has(ALICE), false, "a local echo is not counted yet");
  echo.setStatus(null);
  model.take(echo);
  assertEquals(model.tally.value!.votes.get(ALICE), ["a2"]);

  model.take(event("m.room.message", BOB, 500, { msgtype: "m.text", body: "hi" }));
  assertEquals(model.tally.value!.totalVoters, 2);
});
