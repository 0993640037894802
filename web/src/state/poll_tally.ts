/**
 * Polls (MSC3381) as data: reading a poll's start, response and end events in both the unstable
 * form Element and matrix-js-sdk send (`org.matrix.msc3381.poll.*`) and the stable names, writing
 * the events this app sends, and counting the votes. Pure functions, no I/O.
 *
 * Counting rules (MSC3381): only a user's latest response (by `origin_server_ts`) counts, even
 * when it is invalid; a response naming an unknown answer, or no answer, spoils that user's
 * vote; selections are cut to `max_selections` and repeats count once; the poll ends with the
 * earliest end event sent by the poll's creator or by someone allowed to redact it, and
 * responses sent after that moment are ignored (responses timestamped before the start still
 * count: the MSC keeps them to cope with clock drift between servers).
 *
 * @module
 */

/** Event types of a poll's start, in the order we prefer them. */
export const POLL_START_TYPES = ["org.matrix.msc3381.poll.start", "m.poll.start"] as const;
/** Event types of a vote. */
export const POLL_RESPONSE_TYPES = ["org.matrix.msc3381.poll.response", "m.poll.response"] as const;
/** Event types of a poll's end. */
export const POLL_END_TYPES = ["org.matrix.msc3381.poll.end", "m.poll.end"] as const;

const TEXT_KEYS = ["org.matrix.msc1767.text", "m.text"] as const;
const DISCLOSED = ["org.matrix.msc3381.poll.disclosed", "m.poll.disclosed", "m.disclosed"];

/** The most answers a poll may offer (MSC3381 truncates longer lists). */
export const MAX_ANSWERS = 20;
/** The fewest answers a poll created here has. */
export const MIN_ANSWERS = 2;

/** One answer of a poll. */
export interface PollAnswer {
  id: string;
  text: string;
}

/** A poll as its start event describes it. */
export interface PollStart {
  question: string;
  /** Disclosed polls show results while open; any other kind only after the end. */
  disclosed: boolean;
  maxSelections: number;
  answers: PollAnswer[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Text of an extensible-events block: a string, or MSC1767's array of renderings. */
function textOf(block: unknown): string | null {
  if (!isObject(block)) return null;
  for (const key of TEXT_KEYS) {
    const value = block[key];
    if (typeof value === "string") return value;
    if (Array.isArray(value)) {
      const plain = value.find((r) => isObject(r) && (!r.mimetype || r.mimetype === "text/plain"));
      if (isObject(plain) && typeof plain.body === "string") return plain.body;
    }
  }
  return typeof block.body === "string" ? block.body : null;
}

/** Whether an event type is a poll start. */
export function isPollStartType(type: string): boolean {
  return (POLL_START_TYPES as readonly string[]).includes(type);
}

/** Reads a poll start event's content; null when it is not a usable poll. */
export function parsePollStart(content: unknown): PollStart | null {
  if (!isObject(content)) return null;
  const block = content["org.matrix.msc3381.poll.start"] ?? content["m.poll.start"] ??
    content["m.poll"];
  if (!isObject(block)) return null;
  const question = textOf(block.question)?.trim();
  if (!question || !Array.isArray(block.answers)) return null;
  const answers: PollAnswer[] = [];
  const seen = new Set<string>();
  for (const raw of block.answers.slice(0, MAX_ANSWERS)) {
    if (!isObject(raw)) continue;
    const id = raw.id ?? raw["m.id"];
    const text = textOf(raw);
    if (typeof id !== "string" || !id || text === null || seen.has(id)) continue;
    seen.add(id);
    answers.push({ id, text });
  }
  if (answers.length === 0) return null;
  const max = block.max_selections;
  return {
    question,
    disclosed: typeof block.kind === "string" && DISCLOSED.includes(block.kind),
    maxSelections: typeof max === "number" && Number.isInteger(max) && max >= 1 ? max : 1,
    answers,
  };
}

/**
 * Reads a response's selections; null when the content has none in a known form (a malformed
 * response still replaces the sender's earlier vote, as a spoiled one).
 */
export function parsePollResponse(content: unknown): string[] | null {
  if (!isObject(content)) return null;
  const block = content["org.matrix.msc3381.poll.response"] ?? content["m.poll.response"];
  const list = isObject(block) ? block.answers : content["m.selections"];
  if (!Array.isArray(list) || !list.every((item) => typeof item === "string")) return null;
  return list as string[];
}

/** A vote as the tally needs it. */
export interface PollResponseRecord {
  eventId: string;
  sender: string;
  ts: number;
  /** The selected answer IDs; null for a malformed response. */
  answers: string[] | null;
}

/** An end event as the tally needs it. */
export interface PollEndRecord {
  eventId: string;
  sender: string;
  ts: number;
}

/** The counted poll. */
export interface PollTally {
  /** The valid end event, if the poll has ended. */
  end: PollEndRecord | null;
  /** Votes per answer ID (every answer present, zeros included). */
  counts: Map<string, number>;
  /** Each voter's counted selections (spoiled votes are absent). */
  votes: Map<string, string[]>;
  /** People whose vote counts. */
  totalVoters: number;
  /** The answers with the most votes (empty when nobody voted). */
  winners: string[];
}

/** Counts a poll's votes by the rules in this module's description. */
export function tallyPoll(
  poll: PollStart,
  responses: Iterable<PollResponseRecord>,
  options: { ends?: Iterable<PollEndRecord>; mayEnd: (sender: string) => boolean },
): PollTally {
  let end: PollEndRecord | null = null;
  for (const candidate of options.ends ?? []) {
    if (!options.mayEnd(candidate.sender)) continue;
    if (!end || candidate.ts < end.ts) end = candidate;
  }
  const endTs = end?.ts ?? Infinity;
  const latest = new Map<string, PollResponseRecord>();
  for (const response of responses) {
    if (response.ts > endTs) continue;
    const previous = latest.get(response.sender);
    // Equal timestamps: the one seen later wins, as it would in the timeline.
    if (!previous || response.ts >= previous.ts) latest.set(response.sender, response);
  }
  const known = new Set(poll.answers.map((answer) => answer.id));
  const counts = new Map(poll.answers.map((answer) => [answer.id, 0]));
  const votes = new Map<string, string[]>();
  for (const [sender, response] of latest) {
    const chosen = [...new Set((response.answers ?? []).slice(0, poll.maxSelections))];
    if (chosen.length === 0 || !chosen.every((id) => known.has(id))) continue;
    votes.set(sender, chosen);
    for (const id of chosen) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const top = Math.max(0, ...counts.values());
  const winners = top === 0 ? [] : poll.answers.filter((a) => counts.get(a.id) === top)
    .map((a) => a.id);
  return { end, counts, votes, totalVoters: votes.size, winners };
}

/** Answer IDs: 16 letters and digits, like matrix-js-sdk's, unique within a poll. */
export function newAnswerId(random: () => number = Math.random): string {
  const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  return Array.from({ length: 16 }, () => letters[Math.floor(random() * letters.length)]).join("");
}

/**
 * The content of a poll start in the unstable form Element sends, with the plain-text fallback
 * ("question", then "1. answer" lines) for clients without polls.
 */
export function pollStartContent(
  poll: { question: string; answers: readonly string[]; disclosed: boolean },
  newId: () => string = newAnswerId,
): Json {
  const question = poll.question.trim();
  const answers = poll.answers.map((text) => text.trim()).filter((text) => text !== "")
    .slice(0, MAX_ANSWERS);
  const fallback = [question, ...answers.map((text, i) => `${i + 1}. ${text}`)].join("\n");
  return {
    "org.matrix.msc3381.poll.start": {
      question: { "org.matrix.msc1767.text": question, body: question, msgtype: "m.text" },
      kind: poll.disclosed
        ? "org.matrix.msc3381.poll.disclosed"
        : "org.matrix.msc3381.poll.undisclosed",
      max_selections: 1,
      answers: answers.map((text) => ({ id: newId(), "org.matrix.msc1767.text": text })),
    },
    "org.matrix.msc1767.text": fallback,
  };
}

/** The content of a vote for `answerIds` in the poll started by `pollId`. */
export function pollResponseContent(pollId: string, answerIds: readonly string[]): Json {
  return {
    "m.relates_to": { rel_type: "m.reference", event_id: pollId },
    "org.matrix.msc3381.poll.response": { answers: [...answerIds] },
  };
}

/** The content of the end of the poll started by `pollId`, with its text fallback. */
export function pollEndContent(pollId: string, text: string): Json {
  return {
    "m.relates_to": { rel_type: "m.reference", event_id: pollId },
    "org.matrix.msc3381.poll.end": {},
    "org.matrix.msc1767.text": text,
  };
}
