/**
 * Polls as data (web/src/state/poll_tally.ts): reading start and response events in Element's
 * unstable form and the stable names, the content this app sends, and the counting rules of
 * MSC3381 (latest response per user, spoiled ballots, the end's moment and who may end).
 */

import {
  parsePollResponse,
  parsePollStart,
  pollEndContent,
  pollResponseContent,
  type PollResponseRecord,
  type PollStart,
  pollStartContent,
  tallyPoll,
} from "../../web/src/state/poll_tally.ts";
import { assert, assertEquals } from "./assert.ts";

/** What Element Web (matrix-js-sdk's PollStartEvent) sends. */
const ELEMENT_START = {
  "org.matrix.msc3381.poll.start": {
    question: { "org.matrix.msc1767.text": "Lunch?", body: "Lunch?", msgtype: "m.text" },
    kind: "org.matrix.msc3381.poll.disclosed",
    max_selections: 1,
    answers: [
      { id: "a1", "org.matrix.msc1767.text": "Pizza" },
      { id: "a2", "org.matrix.msc1767.text": "Salad" },
      { id: "a3", "org.matrix.msc1767.text": "Soup" },
    ],
  },
  "org.matrix.msc1767.text": "Lunch?\n1. Pizza\n2. Salad\n3. Soup",
};

const POLL: PollStart = parsePollStart(ELEMENT_START)!;

function vote(sender: string, ts: number, answers: string[] | null, id = `$${sender}${ts}`) {
  return { eventId: id, sender, ts, answers } satisfies PollResponseRecord;
}

const creatorOnly = (sender: string) => sender === "@creator:x";

Deno.test("web polls: Element's start event, the stable names, and broken ones", () => {
  assertEquals(POLL, {
    question: "Lunch?",
    disclosed: true,
    maxSelections: 1,
    answers: [{ id: "a1", text: "Pizza" }, { id: "a2", text: "Salad" }, { id: "a3", text: "Soup" }],
  });
  const stable = parsePollStart({
    "m.poll.start": {
      question: { "m.text": "Where?" },
      kind: "m.poll.undisclosed",
      answers: [{ id: "x", "m.text": "Here" }, { id: "y", "m.text": "There" }],
    },
  });
  assertEquals(stable?.question, "Where?");
  assertEquals(stable?.disclosed, false);
  // MSC3381's final shape: `m.poll` with `m.id` and m.text renderings.
  const final = parsePollStart({
    "m.poll": {
      kind: "m.disclosed",
      max_selections: 2,
      question: { "m.text": [{ body: "When?" }] },
      answers: [{ "m.id": "mon", "m.text": [{ body: "Monday" }] }],
    },
  });
  assertEquals(final, {
    question: "When?",
    disclosed: true,
    maxSelections: 2,
    answers: [{ id: "mon", text: "Monday" }],
  });
  // Unknown kinds count as undisclosed; bad max_selections as 1; at most 20 answers.
  const many = parsePollStart({
    "m.poll.start": {
      question: { "m.text": "Q" },
      kind: "org.example.secret",
      max_selections: 0,
      answers: Array.from({ length: 25 }, (_, i) => ({ id: `a${i}`, "m.text": `A${i}` })),
    },
  });
  assertEquals(many?.disclosed, false);
  assertEquals(many?.maxSelections, 1);
  assertEquals(many?.answers.length, 20);
  assertEquals(parsePollStart({ "m.poll.start": { question: {}, answers: [] } }), null);
  assertEquals(parsePollStart({ body: "not a poll" }), null);
  assertEquals(
    parsePollStart({
      "m.poll.start": { question: { "m.text": "Q" }, answers: [{ "m.text": "x" }] },
    }),
    null,
    "answers without IDs are dropped, and a poll without answers is no poll",
  );
});

Deno.test("web polls: the events this app sends are what Element reads", () => {
  let n = 0;
  const start = pollStartContent(
    { question: "  Lunch? ", answers: ["Pizza", " ", " Salad "], disclosed: false },
    () => `id${++n}`,
  );
  assertEquals(start, {
    "org.matrix.msc3381.poll.start": {
      question: { "org.matrix.msc1767.text": "Lunch?", body: "Lunch?", msgtype: "m.text" },
      kind: "org.matrix.msc3381.poll.undisclosed",
      max_selections: 1,
      answers: [
        { id: "id1", "org.matrix.msc1767.text": "Pizza" },
        { id: "id2", "org.matrix.msc1767.text": "Salad" },
      ],
    },
    "org.matrix.msc1767.text": "Lunch?\n1. Pizza\n2. Salad",
  });
  assertEquals(parsePollStart(start)?.answers.map((a) => a.text), ["Pizza", "Salad"]);
  const response = pollResponseContent("$poll", ["id2"]);
  assertEquals(response, {
    "m.relates_to": { rel_type: "m.reference", event_id: "$poll" },
    "org.matrix.msc3381.poll.response": { answers: ["id2"] },
  });
  assertEquals(parsePollResponse(response), ["id2"]);
  assertEquals(parsePollResponse({ "m.poll.response": { answers: ["a"] } }), ["a"]);
  assertEquals(parsePollResponse({ "m.selections": ["b"] }), ["b"]);
  assertEquals(parsePollResponse({ "m.poll.response": { answers: [1] } }), null);
  assertEquals(pollEndContent("$poll", "Ended"), {
    "m.relates_to": { rel_type: "m.reference", event_id: "$poll" },
    "org.matrix.msc3381.poll.end": {},
    "org.matrix.msc1767.text": "Ended",
  });
});

Deno.test("web polls: each person's latest response counts", () => {
  const tally = tallyPoll(POLL, [
    vote("@ann:x", 10, ["a1"]),
    vote("@bob:x", 11, ["a1"]),
    vote("@ann:x", 20, ["a2"]), // Ann changes her mind
    vote("@cid:x", 12, ["a2"]),
    vote("@bob:x", 5, ["a3"]), // older than Bob's other vote, though seen later
  ], { mayEnd: creatorOnly });
  assertEquals([...tally.counts], [["a1", 1], ["a2", 2], ["a3", 0]]);
  assertEquals(tally.votes.get("@ann:x"), ["a2"]);
  assertEquals(tally.votes.get("@bob:x"), ["a1"]);
  assertEquals(tally.totalVoters, 3);
  assertEquals(tally.winners, ["a2"]);
  assertEquals(tally.end, null);
});

Deno.test("web polls: invalid answers spoil the vote, and the spoiled vote replaces the old", () => {
  const tally = tallyPoll(POLL, [
    vote("@ann:x", 1, ["a1"]),
    vote("@ann:x", 2, ["nope"]), // unknown answer: Ann's vote is spoiled
    vote("@bob:x", 1, ["a2"]),
    vote("@bob:x", 2, []), // empty: Bob takes his vote back
    vote("@cid:x", 1, null), // malformed
    vote("@dan:x", 1, ["a3", "a1"]), // cut to max_selections (1)
    vote("@eve:x", 1, ["nope", "a3"]), // cut to ["nope"] first: spoiled
    vote("@fay:x", 1, ["a3", "nope"]), // cut to ["a3"]: the unknown one is never read
  ], { mayEnd: creatorOnly });
  assertEquals([...tally.counts], [["a1", 0], ["a2", 0], ["a3", 2]]);
  assertEquals([...tally.votes.keys()], ["@dan:x", "@fay:x"]);
  assertEquals(tally.totalVoters, 2);
  const strict = tallyPoll({ ...POLL, maxSelections: 2 }, [vote("@eve:x", 1, ["a3", "nope"])], {
    mayEnd: creatorOnly,
  });
  assertEquals(strict.totalVoters, 0, "one unknown answer among the counted ones spoils it");

  const twoChoices = { ...POLL, maxSelections: 2 };
  const multi = tallyPoll(twoChoices, [vote("@ann:x", 1, ["a1", "a1", "a2", "a3"])], {
    mayEnd: creatorOnly,
  });
  assertEquals(multi.votes.get("@ann:x"), ["a1"], "repeats count once, after cutting to 2");
  assertEquals([...multi.counts], [["a1", 1], ["a2", 0], ["a3", 0]]);
});

Deno.test("web polls: votes after the end are ignored; only a valid, first end counts", () => {
  const responses = [
    vote("@ann:x", 10, ["a1"]),
    vote("@bob:x", 15, ["a2"]),
    vote("@bob:x", 25, ["a1"]), // after the end: Bob's earlier vote stands
    vote("@cid:x", 30, ["a3"]), // after the end
    vote("@dan:x", 20, ["a2"]), // on the end's timestamp: counts
    vote("@eve:x", 1, ["a1"]), // before the start (clock drift): counts, as MSC3381 says
  ];
  const tally = tallyPoll(POLL, responses, {
    ends: [
      { eventId: "$fake", sender: "@intruder:x", ts: 12 }, // may not end it: ignored
      { eventId: "$late", sender: "@creator:x", ts: 40 }, // a repeated, later end
      { eventId: "$end", sender: "@creator:x", ts: 20 },
    ],
    mayEnd: creatorOnly,
  });
  assertEquals(tally.end?.eventId, "$end");
  assertEquals([...tally.counts], [["a1", 2], ["a2", 2], ["a3", 0]]);
  assertEquals(tally.votes.get("@bob:x"), ["a2"]);
  assertEquals(tally.totalVoters, 4);
  assertEquals(tally.winners, ["a1", "a2"], "a tie has two winners");

  const moderator = tallyPoll(POLL, responses, {
    ends: [{ eventId: "$mod", sender: "@mod:x", ts: 12 }],
    mayEnd: (sender) => sender === "@creator:x" || sender === "@mod:x",
  });
  assertEquals(moderator.end?.eventId, "$mod", "someone allowed to redact may end the poll");
  assertEquals(moderator.totalVoters, 2);

  const nobody = tallyPoll(POLL, [], { mayEnd: creatorOnly });
  assertEquals(nobody.winners, []);
  assert(nobody.end === null);
});
