/**
 * Reporting a person to the server's administrators (spec: "Reporting content",
 * `POST /users/{userId}/report`, v1.14), from the member list.
 *
 * @module
 */

import type { MatrixClient, Method } from "matrix-js-sdk";

/** Longest reason sent (the server refuses more than 4 KiB). */
export const MAX_USER_REPORT_REASON = 1000;

/** Why a report failed. */
export type ReportUserErrorCode = "elsewhere" | "failed";

/** A report the server did not take. */
export class ReportUserError extends Error {
  readonly code: ReportUserErrorCode;
  constructor(code: ReportUserErrorCode, message: string) {
    super(message);
    this.name = "ReportUserError";
    this.code = code;
  }
}

/** Reports `userId` with a reason. */
export async function reportUser(
  client: MatrixClient,
  userId: string,
  reason: string,
): Promise<void> {
  try {
    await client.http.authedRequest(
      "POST" as Method,
      `/users/${encodeURIComponent(userId)}/report`,
      undefined,
      { reason: reason.slice(0, MAX_USER_REPORT_REASON) },
    );
  } catch (err) {
    // 404: not a user of this server (it only knows its own accounts).
    const status = (err as { httpStatus?: number }).httpStatus;
    const code = status === 404 ? "elsewhere" : "failed";
    throw new ReportUserError(code, err instanceof Error ? err.message : String(err));
  }
}
