/**
 * What every client-load scenario shares: the target it drives (a gemeng subprocess started by
 * the bench, or any homeserver given by `--target`), the pool of accounts registered once per
 * run through shared-secret registration, and fast room setup (`invite` lists at creation,
 * then joins in parallel with bounded concurrency).
 *
 * @module
 */

import type { ServerProcess } from "../load/processes.ts";
import { mapBounded } from "../load/load.ts";
import {
  type BenchAccount,
  createRoom,
  inviteUser,
  joinRoom,
  registerWithSharedSecret,
} from "../load/matrix_client.ts";

/** The homeserver under load and the ceiling server beside it. */
export interface ScenarioTarget {
  /** e.g. `http://127.0.0.1:8008` */
  baseUrl: string;
  /** The registration shared secret of the target. */
  sharedSecret: string;
  /** The server process when the bench started it; absent with `--target`. */
  process?: ServerProcess;
  /** The raw `Deno.serve` ceiling process. */
  raw: ServerProcess;
  /** Prefix of every localpart this run registers (unique per run). */
  prefix: string;
  /** Progress output. */
  log: (line: string) => void;
}

/** Concurrency of setup requests (registrations hash passwords: more would only queue). */
export const SETUP_CONCURRENCY = 16;
/** Concurrency of registrations: each hashes a password at the server's secure cost. */
export const REGISTER_CONCURRENCY = 4;

/** Registers `count` accounts `<prefix>u<i>` in parallel; each comes with an access token. */
export async function registerPool(target: ScenarioTarget, count: number): Promise<BenchAccount[]> {
  const started = performance.now();
  const accounts = await mapBounded(
    Array.from({ length: count }, (_, i) => i),
    REGISTER_CONCURRENCY,
    (i) =>
      registerWithSharedSecret(
        target.baseUrl,
        target.sharedSecret,
        `${target.prefix}u${i}`,
        `bench-password-${target.prefix}-${i}`,
      ),
  );
  target.log(
    `registered ${count} accounts in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return accounts;
}

/** Registers one more account outside the pool. */
export function registerOne(target: ScenarioTarget, name: string): Promise<BenchAccount> {
  return registerWithSharedSecret(
    target.baseUrl,
    target.sharedSecret,
    `${target.prefix}${name}`,
    `bench-password-${target.prefix}-${name}`,
  );
}

/** Invites a server accepts in one createRoom (gemeng's limit; the rest are sent apart). */
export const INVITES_AT_CREATION = 100;

/**
 * Creates rooms owned by `owner` with the given members invited: up to
 * {@link INVITES_AT_CREATION} in the createRoom request, the others by `/invite` in parallel.
 */
export async function createRoomsWithInvites(
  target: ScenarioTarget,
  owner: BenchAccount,
  memberLists: readonly (readonly BenchAccount[])[],
): Promise<string[]> {
  const rooms = await mapBounded(
    memberLists,
    SETUP_CONCURRENCY,
    (members, i) =>
      createRoom(target.baseUrl, owner.accessToken, {
        name: `bench room ${i}`,
        preset: "private_chat",
        invite: members.slice(0, INVITES_AT_CREATION).map((m) => m.userId),
      }),
  );
  const later = memberLists.flatMap((members, i) =>
    members.slice(INVITES_AT_CREATION).map((m) => ({ roomId: rooms[i], userId: m.userId }))
  );
  await mapBounded(
    later,
    SETUP_CONCURRENCY,
    ({ roomId, userId }) => inviteUser(target.baseUrl, owner.accessToken, roomId, userId),
  );
  return rooms;
}

/** Joins every (room, member) pair, in parallel with bounded concurrency. */
export async function joinAll(
  target: ScenarioTarget,
  joins: readonly { roomId: string; member: BenchAccount }[],
): Promise<void> {
  await mapBounded(
    joins,
    SETUP_CONCURRENCY,
    ({ roomId, member }) => joinRoom(target.baseUrl, member.accessToken, roomId),
  );
}

/** Creates one room per member list (owner plus invited members) and has the members join. */
export async function roomsWithMembers(
  target: ScenarioTarget,
  owner: BenchAccount,
  memberLists: readonly (readonly BenchAccount[])[],
): Promise<string[]> {
  const rooms = await createRoomsWithInvites(target, owner, memberLists);
  const joins = memberLists.flatMap((members, i) =>
    members.map((member) => ({ roomId: rooms[i], member }))
  );
  await joinAll(target, joins);
  return rooms;
}

/** Peak resident memory of the target process during `fn` (null without a process). */
export async function withPeakMemory<T>(
  target: ScenarioTarget,
  fn: () => Promise<T>,
): Promise<{ result: T; peakBytes: number | null }> {
  if (!target.process) return { result: await fn(), peakBytes: null };
  await target.process.resetPeak();
  const result = await fn();
  return { result, peakBytes: (await target.process.sample()).peakBytes };
}
