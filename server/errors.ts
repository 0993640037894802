/**
 * Matrix standard error responses (`{errcode, error}`) as exceptions. Route handlers throw a
 * {@link MatrixError}; the app's error handler turns it into the JSON body and HTTP status the
 * Client-Server API prescribes.
 *
 * @module
 */

/** A failure that maps to one Matrix standard error response. */
export class MatrixError extends Error {
  /** The Matrix `errcode`, e.g. `M_FORBIDDEN`. */
  readonly code: string;
  /** The HTTP status of the response. */
  readonly status: number;
  /** Extra top-level fields of the error body (e.g. `retry_after_ms`, `soft_logout`). */
  readonly extra: Record<string, unknown>;
  /** Extra response headers (e.g. `Retry-After`). */
  readonly headers: Record<string, string>;

  /**
   * @param code the errcode
   * @param message a sentence a person can act on
   * @param options HTTP status (default 400), extra body fields and headers
   */
  constructor(
    code: string,
    message: string,
    options: {
      status?: number;
      extra?: Record<string, unknown>;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(message);
    this.name = "MatrixError";
    this.code = code;
    this.status = options.status ?? 400;
    this.extra = options.extra ?? {};
    this.headers = options.headers ?? {};
  }

  /** The JSON body of the error response. */
  toJSON(): Record<string, unknown> {
    return { errcode: this.code, error: this.message, ...this.extra };
  }

  /** The full HTTP response for this error. */
  toResponse(): Response {
    return jsonResponse(this.toJSON(), { status: this.status, headers: this.headers });
  }
}

/** 400 M_BAD_JSON: the body was JSON but had the wrong shape. */
export function badJson(message: string): MatrixError {
  return new MatrixError("M_BAD_JSON", message);
}

/** 400 M_NOT_JSON: the body could not be parsed as a JSON object. */
export function notJson(message = "Request body is not a valid JSON object"): MatrixError {
  return new MatrixError("M_NOT_JSON", message);
}

/** 400 M_MISSING_PARAM: a required parameter was absent. */
export function missingParam(name: string): MatrixError {
  return new MatrixError("M_MISSING_PARAM", `Missing required parameter '${name}'`);
}

/** 400 M_INVALID_PARAM: a parameter had a value that is not allowed. */
export function invalidParam(message: string): MatrixError {
  return new MatrixError("M_INVALID_PARAM", message);
}

/** 403 M_FORBIDDEN. */
export function forbidden(message: string): MatrixError {
  return new MatrixError("M_FORBIDDEN", message, { status: 403 });
}

/** 404 M_NOT_FOUND. */
export function notFound(message: string): MatrixError {
  return new MatrixError("M_NOT_FOUND", message, { status: 404 });
}

/** 404 (or 405) M_UNRECOGNIZED: the server does not know this endpoint or method. */
export function unrecognized(message: string, status = 404): MatrixError {
  return new MatrixError("M_UNRECOGNIZED", message, { status });
}

/** 413 M_TOO_LARGE: the request body exceeded the configured limit. */
export function tooLarge(limitBytes: number): MatrixError {
  return new MatrixError("M_TOO_LARGE", `Request body is larger than ${limitBytes} bytes`, {
    status: 413,
  });
}

/** 429 M_LIMIT_EXCEEDED with both `retry_after_ms` and a `Retry-After` header. */
export function limitExceeded(retryAfterMs: number): MatrixError {
  const ms = Math.max(1, Math.ceil(retryAfterMs));
  return new MatrixError("M_LIMIT_EXCEEDED", "Too many requests; slow down and retry later", {
    status: 429,
    extra: { retry_after_ms: ms },
    headers: { "Retry-After": String(Math.ceil(ms / 1000)) },
  });
}

/** A JSON response with the given status and headers. */
export function jsonResponse(
  body: unknown,
  options: { status?: number; headers?: Record<string, string> } = {},
): Response {
  return new Response(JSON.stringify(body), {
    status: options.status ?? 200,
    headers: { "Content-Type": "application/json", ...options.headers },
  });
}
